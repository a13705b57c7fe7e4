package org.deepkern.norm;

import static org.deepkern.testing.RowChecks.assertRef;
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
import org.deepkern.testing.ActivationChecks;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.RowReference;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * softmax and log_softmax over any dim (F.softmax(x, dim) and the rest), forward and backward,
 * against the double row reference applied to the rows along that dim, gathered here by index
 * arithmetic: every dim of awkward shapes (extents 1, 0, odd and past a vector width), negative
 * and positive, and strided views as inputs.
 */
class SoftmaxDimTest {
    static final long[][] SHAPES = {{2, 3, 4}, {1, 5, 1}, {7}, {3, 0, 4}, {2, 1025}, {5, 3, 2, 7}, {4, 1}};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (long[] s : SHAPES)
                    for (int dim = -s.length; dim < s.length; dim++) out.add(Arguments.of(d, t, s, dim));
        });
        return out.stream();
    }

    /** The elements along dim, one row per position of the other dims: [outer * inner, n]. */
    static float[] rows(float[] x, long[] shape, int dim) {
        int d = dim < 0 ? dim + shape.length : dim, n = (int) shape[d], inner = 1;
        for (int k = d + 1; k < shape.length; k++) inner *= (int) shape[k];
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int o = i / (n * inner), j = i / inner % n, in = i % inner;
            r[(o * inner + in) * n + j] = x[i];
        }
        return r;
    }

    /** rows' inverse, for a reference computed on rows. */
    static RowReference.Out unrows(RowReference.Out r, long[] shape, int dim) {
        int d = dim < 0 ? dim + shape.length : dim, n = (int) shape[d], inner = 1;
        for (int k = d + 1; k < shape.length; k++) inner *= (int) shape[k];
        double[] v = new double[r.value().length], m = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int o = i / (n * inner), j = i / inner % n, in = i % inner, at = (o * inner + in) * n + j;
            v[i] = r.value()[at];
            m[i] = r.mag()[at];
        }
        return new RowReference.Out(v, m);
    }

    static int extent(long[] shape, int dim) {
        return (int) shape[dim < 0 ? dim + shape.length : dim];
    }

    @ParameterizedTest(name = "{0} {1} {2} dim {3}")
    @MethodSource("cases")
    void forwardAndBackward(Device device, DType dtype, long[] shape, int dim) {
        try (Scope s = Scope.open()) {
            int numel = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b), n = extent(shape, dim);
            int count = n == 0 ? 0 : numel / n;
            long seed = 7L * numel + dim;
            float[] xv = normal(numel, seed, 0, 3);
            for (int i = 0; i < numel; i++) xv[i] += 20 * (i % 3);  // the max subtraction matters along every dim
            Tensor x = tensor(device, dtype, xv, shape), dy = tensor(device, dtype, normal(numel, seed + 1, 0, 1), shape);
            float[] xs = x.toFloatArray(), gs = dy.toFloatArray();
            String what = dtype + " " + Arrays.toString(shape) + " dim " + dim + " on " + device;
            for (boolean log : new boolean[] {false, true}) {
                String op = log ? "log_softmax " : "softmax ";
                ActivationChecks.poisonNextAllocations(dtype, device, shape, shape, shape);
                Tensor y = log ? F.logSoftmax(x, dim) : F.softmax(x, dim);
                assertArrayEquals(shape, y.shape(), op + "shape " + what);
                assertTrue(y.isContiguous(), op + "output contiguous " + what);
                assertRef(unrows(RowReference.softmax(rows(xs, shape, dim), count, n, log), shape, dim), y, dtype, op + what);
                float[] ys = y.toFloatArray();
                ActivationChecks.poisonNextAllocations(dtype, device, shape, shape, shape);
                Tensor dx = log ? F.logSoftmaxBackward(y, dy, dim) : F.softmaxBackward(y, dy, dim);
                assertTrue(dx.isContiguous(), op + "gradient contiguous " + what);
                assertRef(unrows(RowReference.softmaxBackward(rows(ys, shape, dim), rows(gs, shape, dim), count, n, log),
                        shape, dim), dx, dtype, op + "backward " + what);
            }
        }
    }

    /** Permuted (strided) views as the input and the output's gradient. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void stridedViewsAreInputs(Device device) {
        try (Scope s = Scope.open()) {
            long[] base = {3, 4, 5};
            Tensor x = Tensor.of(normal(60, 3, 0, 2), base, device), dy = Tensor.of(normal(60, 4, 0, 1), base, device);
            Tensor view = x.permute(2, 0, 1), gView = dy.permute(2, 0, 1);
            long[] shape = view.shape();
            float[] xs = view.toFloatArray(), gs = gView.toFloatArray();
            for (int dim = -3; dim < 3; dim++) {
                int n = extent(shape, dim);
                String what = "view " + Arrays.toString(shape) + " dim " + dim + " on " + device;
                Tensor y = F.softmax(view, dim);
                assertRef(unrows(RowReference.softmax(rows(xs, shape, dim), 60 / n, n, false), shape, dim), y, DType.F32, what);
                Tensor dx = F.softmaxBackward(y, gView, dim);
                assertRef(unrows(RowReference.softmaxBackward(rows(y.toFloatArray(), shape, dim), rows(gs, shape, dim), 60 / n,
                        n, false), shape, dim), dx, DType.F32, "backward " + what);
            }
        }
    }
}
