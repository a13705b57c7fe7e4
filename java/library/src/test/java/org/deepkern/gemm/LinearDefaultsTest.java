package org.deepkern.gemm;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * linear(x, w), torch's call without a bias: x @ w^T against a double product over awkward shapes
 * (no rows, K = 0, size 1, a 3-D x with odd extents, a strided view), and against torch.linear(x, w).
 */
class LinearDefaultsTest {
    /** x's shape, then w's [out, in]. */
    static final long[][][] SHAPES = {{{0, 4}, {3, 4}}, {{1, 1}, {1, 1}}, {{2, 0}, {3, 0}}, {{5, 7, 17}, {9, 17}}, {{33}, {65, 33}}};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (long[][] s : SHAPES) out.add(Arguments.of(d, t, s[0], s[1]));
        });
        return out.stream();
    }

    static int numel(long[] shape) {
        return (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    }

    /** x [rows, in] @ w^T, and the sum of |terms| each element's tolerance scales with. */
    static double[][] reference(float[] x, float[] w, int rows, int in, int out) {
        double[] v = new double[rows * out], mag = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++)
                for (int k = 0; k < in; k++) {
                    double t = (double) x[r * in + k] * w[o * in + k];
                    v[r * out + o] += t;
                    mag[r * out + o] += Math.abs(t);
                }
        return new double[][] {v, mag};
    }

    @ParameterizedTest(name = "{0} {1} x {2} w {3}")
    @MethodSource("cases")
    void withoutBias(Device device, DType dtype, long[] xs, long[] ws) {
        try (Scope s = Scope.open()) {
            int in = (int) ws[1], out = (int) ws[0];
            Tensor x = tensor(device, dtype, normal(numel(xs), 3 + numel(xs), 0, 1), xs);
            Tensor w = tensor(device, dtype, normal(numel(ws), 5 + numel(ws), 0, 1), ws);
            long[] ys = xs.clone();
            ys[ys.length - 1] = out;
            Tensor y = F.linear(x, w);
            assertArrayEquals(ys, y.shape(), "shape");
            double[][] ref = reference(x.toFloatArray(), w.toFloatArray(), numel(Arrays.copyOf(xs, xs.length - 1)), in, out);
            double t = RowChecks.tol(dtype);
            Close.assertClose(ref[0], y.toFloatArray(), t, i -> t * ref[1][i] + 1e-30,
                    "linear(x, w) " + dtype + " x " + Arrays.toString(xs) + " on " + device);
        }
    }

    /** A transposed view as x and w. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void stridedViews(Device device) {
        try (Scope s = Scope.open()) {
            Tensor xt = Tensor.of(normal(6 * 5, 1, 0, 1), new long[] {6, 5}, device), wt = Tensor.of(normal(6 * 3, 2, 0, 1),
                    new long[] {6, 3}, device);
            Tensor x = xt.transpose(0, 1), w = wt.transpose(0, 1);  // [5, 6] and [3, 6]
            double[][] ref = reference(x.toFloatArray(), w.toFloatArray(), 5, 6, 3);
            Close.assertClose(ref[0], F.linear(x, w).toFloatArray(), 2e-5, i -> 2e-5 * ref[1][i], "linear of views on " + device);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void matchesTorch(Device device) {
        try (Scope s = Scope.open()) {
            long[] xs = {4, 3, 17}, ws = {9, 17};
            float[] xv = normal(numel(xs), 11, 0, 1), wv = normal(numel(ws), 12, 0, 1);
            double[][] ref = reference(xv, wv, 12, 17, 9);
            float[] t = Torch.linear(xv, xs, wv, ws);
            Oracle torch = Oracle.torch();
            torch.vet("torch linear(x, w)", ref[0], t, 0, i -> 4e-5 * ref[1][i] + 1e-30);
            float[] ours = F.linear(Tensor.of(xv, xs, device), Tensor.of(wv, ws, device)).toFloatArray();
            Close.assertClose(ref[0], ours, 0, i -> 2e-5 * ref[1][i] + 1e-30, "linear(x, w) vs the double reference on " + device);
            double[] tv = new double[t.length];
            for (int i = 0; i < t.length; i++) tv[i] = t[i];
            torch.judge(() -> Close.assertClose(tv, ours, 0, i -> 4e-5 * ref[1][i] + 1e-30, "linear(x, w) vs torch on " + device));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void badInputNamesTheCall(Device device) {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {2, 4}, DType.F32, device), w = Tensor.zeros(new long[] {3, 5}, DType.F32, device);
            assertTrue(assertRejects("weight", "expected 4 in_features", () -> F.linear(x, w)).getMessage().startsWith("F.linear: "));
            assertTrue(assertRejects("x", "null", () -> F.linear(null, w)).getMessage().startsWith("F.linear: "));
            assertTrue(assertRejects("weight", "null", () -> F.linear(x, null)).getMessage().startsWith("F.linear: "));
        }
    }
}
