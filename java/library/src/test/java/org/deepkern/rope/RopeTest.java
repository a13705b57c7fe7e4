package org.deepkern.rope;

import org.deepkern.testing.ActivationChecks;
import org.deepkern.ops.F;
import org.deepkern.ops.RopeLayout;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.RowReference;
import static org.deepkern.testing.RowChecks.assertFiniteDifferences;
import static org.deepkern.testing.RowChecks.assertRef;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Rotary position embedding on [B, H, L, D], both layouts, forward and backward. */
class RopeTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (RopeLayout layout : RopeLayout.values())
                    for (int[] bhld : new int[][] {{1, 1, 1, 2}, {2, 3, 17, 8}, {1, 2, 130, 64}, {1, 1, 7, 258}})
                        out.add(Arguments.of(d, t, layout, bhld));
        });
        return out.stream();
    }

    static Stream<Arguments> devices() {
        return RowChecks.devices();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("cases")
    void forwardAndBackward(Device device, DType dtype, RopeLayout layout, int[] bhld) {
        try (Scope s = Scope.open()) {
            int b = bhld[0], h = bhld[1], l = bhld[2], d = bhld[3], n = b * h * l * d;
            long offset = l == 17 ? 5 : 0;
            double base = d == 8 ? 500 : 10000;
            long[] shape = {b, h, l, d};
            Tensor x = tensor(device, dtype, normal(n, n + d, 0, 1), shape);
            float[] xs = x.toFloatArray();
            boolean inter = layout == RopeLayout.INTERLEAVED;
            String what = layout + " " + dtype + " " + java.util.Arrays.toString(bhld) + " on " + device;
            ActivationChecks.poisonNextAllocations(dtype, device, shape);
            Tensor y = F.rotaryEmbedding(x, layout, base, offset);
            assertRef(RowReference.rope(xs, b * h, l, d, inter, base, offset, 1), y, dtype, "rope " + what);
            ActivationChecks.poisonNextAllocations(dtype, device, shape);
            Tensor gx = F.rotaryEmbeddingBackward(x, layout, base, offset);
            assertRef(RowReference.rope(xs, b * h, l, d, inter, base, offset, -1), gx, dtype, "rope backward " + what);
        }
    }

    /** The backward is the forward's derivative, and undoes the forward (a rotation is orthogonal). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void backwardIsTheDerivativeAndTheInverse(Device device) {
        try (Scope s = Scope.open()) {
            long[] shape = {1, 2, 3, 6};
            float[] xv = normal(36, 21, 0, 1), r = normal(36, 22, 0, 1);
            for (RopeLayout layout : RopeLayout.values()) {
                float[] grad = F.rotaryEmbeddingBackward(Tensor.of(r, shape, device), layout, 10000, 3).toFloatArray();
                assertFiniteDifferences(device, xv.clone(), shape, r, t -> F.rotaryEmbedding(t, layout, 10000, 3), grad,
                        "rope " + layout + " on " + device);
                Tensor there = F.rotaryEmbedding(Tensor.of(xv, shape, device), layout, 10000, 3);
                float[] back = F.rotaryEmbeddingBackward(there, layout, 10000, 3).toFloatArray();
                double[] ref = new double[xv.length];
                for (int i = 0; i < ref.length; i++) ref[i] = xv[i];
                Close.assertClose(ref, back, 1e-5, 1e-6, "rope " + layout + " round trip on " + device);
            }
        }
    }
}
