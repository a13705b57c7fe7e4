package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.SplittableRandom;
import org.deepkern.DType;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.LinearGrads;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;

/** The Linear module is F.linear forward and F.linearBackward backward, with or without its activation. */
class LinearModuleTest {
    private static float[] random(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }

    @Test
    void forwardAndBackwardAreTheFunctionalOps() {
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Act act : new Act[] {null, Act.gelu(), Act.relu()})
                    for (boolean withBias : new boolean[] {true, false})
                        try (Scope s = Scope.open()) {
                            Tensor x = Tensor.of(random(2 * 7 * 17, 1), new long[] {2, 7, 17}, d).to(t);
                            Tensor w = Tensor.of(random(5 * 17, 2), new long[] {5, 17}, d).to(t);
                            Tensor b = withBias ? Tensor.of(random(5, 3), new long[] {5}, d).to(t) : null;
                            Tensor g = Tensor.of(random(2 * 7 * 5, 4), new long[] {2, 7, 5}, d).to(t);
                            Linear m = new Linear(w, b, act);
                            String what = m + " " + t + " on " + d;
                            assertArrayEquals(F.linear(x, w, b, act, null).toFloatArray(), m.forward(x).toFloatArray(), what);
                            LinearGrads mine = m.backward(x, g), ref = F.linearBackward(x, w, b, act, g);
                            assertArrayEquals(ref.input().toFloatArray(), mine.input().toFloatArray(), "grad_x " + what);
                            assertArrayEquals(ref.weight().toFloatArray(), mine.weight().toFloatArray(), "grad_w " + what);
                            if (withBias) assertArrayEquals(ref.bias().toFloatArray(), mine.bias().toFloatArray(), "grad_b " + what);
                            else assertNull(mine.bias(), what);
                        }
        });
    }

    /** Without an activation the module's backward is the plain linear backward. */
    @Test
    void withoutActivationMatchesPlainBackward() {
        TestDevices.host().forEach(d -> {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.of(random(7 * 17, 5), new long[] {7, 17}, d), w = Tensor.of(random(5 * 17, 6), new long[] {5, 17}, d);
                Tensor b = Tensor.of(random(5, 7), new long[] {5}, d), g = Tensor.of(random(7 * 5, 8), new long[] {7, 5}, d);
                LinearGrads mine = new Linear(w, b).backward(x, g), ref = F.linearBackward(x, w, g, true);
                assertArrayEquals(ref.input().toFloatArray(), mine.input().toFloatArray(), "grad_x on " + d);
                assertArrayEquals(ref.weight().toFloatArray(), mine.weight().toFloatArray(), "grad_w on " + d);
                assertArrayEquals(ref.bias().toFloatArray(), mine.bias().toFloatArray(), "grad_b on " + d);
            }
        });
    }
}
