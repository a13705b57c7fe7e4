package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.SplittableRandom;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;

/** The Activation module is F.activation forward and F.activationBackward backward, bit for bit. */
class ActivationModuleTest {
    static final List<Act> ACTS = List.of(Act.threshold(0.5, -2), Act.step(0.25), Act.relu(), Act.leakyRelu(0.01),
            Act.elu(1.0), Act.selu(), Act.celu(0.75), Act.sigmoid(), Act.tanh(), Act.hardtanh(-0.5, 2),
            Act.hardsigmoid(), Act.hardswish(), Act.softplus(2, 10), Act.silu(), Act.mish(), Act.gelu(),
            Act.gelu(GeluApproximation.TANH), Act.quickGelu());

    private static float[] random(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (4 * rng.nextGaussian());
        return v;
    }

    @Test
    void forwardAndBackwardAreTheFunctionalOps() {
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Act act : ACTS)
                    try (Scope s = Scope.open()) {
                        Tensor x = Tensor.of(random(3 * 7 * 5, 1), new long[] {3, 7, 5}, d).to(t);
                        Tensor g = Tensor.of(random(3 * 7 * 5, 2), new long[] {3, 7, 5}, d).to(t);
                        Activation m = new Activation(act);
                        String what = act + " " + t + " on " + d;
                        assertArrayEquals(F.activation(act, x).toFloatArray(), m.forward(x).toFloatArray(), what);
                        assertArrayEquals(F.activationBackward(act, x, g).toFloatArray(),
                                m.backward(x, g).toFloatArray(), what);
                    }
        });
    }

    @Test
    void describesItself() {
        Activation m = new Activation(Act.softplus(2, 10));
        assertEquals(Act.softplus(2, 10), m.act());
        assertEquals("Activation(softplus(2.0, 10.0))", m.toString());
        assertThrows(NullPointerException.class, () -> new Activation(null));
        try (Tensor x = Tensor.of(new float[] {-1, 2}, new long[0], Device.CPU)) {
            try (Tensor y = new Activation(Act.relu()).forward(x)) {
                assertArrayEquals(new float[] {0, 2}, y.toFloatArray());
            }
        }
    }
}
