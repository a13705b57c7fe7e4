package org.deepkern.norm;

import static org.deepkern.testing.RowChecks.assertRef;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.RowReference;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * layer_norm and rms_norm over a normalized shape (torch's normalized_shape: the last k dims, weight
 * and bias of that shape) and with torch's default eps, against the double row reference on rows of
 * the product of those k extents (row-major, that is what normalizing over them means).
 */
class NormShapeTest {
    /** torch's defaults, written out: layer_norm's eps, and rms_norm's (float's epsilon, as ATen's rms_norm uses). */
    static final double LN_EPS = 1e-5, RMS_EPS = Math.ulp(1.0f);

    static final long[][] SHAPES = {{2, 3, 4}, {1, 1, 1}, {3, 0, 5}, {2, 5, 7, 3}, {4, 17, 33}};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (long[] s : SHAPES)
                    for (int k = 1; k <= s.length; k++) out.add(Arguments.of(d, t, s, k));
        });
        return out.stream();
    }

    static Stream<Arguments> lastDimCases() {
        return cases().filter(a -> (int) a.get()[3] == 1).map(a -> Arguments.of(a.get()[0], a.get()[1], a.get()[2]));
    }

    static int product(long[] shape, int from) {
        int p = 1;
        for (int i = from; i < shape.length; i++) p *= (int) shape[i];
        return p;
    }

    @ParameterizedTest(name = "{0} {1} {2} last {3}")
    @MethodSource("cases")
    void overTheLastDims(Device device, DType dtype, long[] shape, int k) {
        try (Scope s = Scope.open()) {
            long[] ns = Arrays.copyOfRange(shape, shape.length - k, shape.length);
            int cols = product(shape, shape.length - k), numel = product(shape, 0), rows = cols == 0 ? 0 : numel / cols;
            long seed = 31L * numel + k;
            Tensor x = tensor(device, dtype, normal(numel, seed, 0.5, 2), shape);
            Tensor w = tensor(device, dtype, normal(cols, seed + 1, 1, 0.5), ns);
            Tensor b = tensor(device, dtype, normal(cols, seed + 2, 0, 1), ns);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray();
            String what = dtype + " " + Arrays.toString(shape) + " over " + Arrays.toString(ns) + " on " + device;

            ActivationChecks.poisonNextAllocations(dtype, device, shape);
            Tensor ln = F.layerNorm(x, ns, w, b, 1e-3);
            assertArrayEquals(shape, ln.shape(), "layer_norm shape " + what);
            assertRef(RowReference.norm(xs, ws, bs, rows, cols, 1e-3, false), ln, dtype, "layer_norm " + what);
            assertRef(RowReference.norm(xs, ws, bs, rows, cols, LN_EPS, false), F.layerNorm(x, ns, w, b), dtype,
                    "layer_norm, default eps, " + what);
            assertRef(RowReference.norm(xs, null, null, rows, cols, LN_EPS, false), F.layerNorm(x, ns), dtype,
                    "layer_norm without affine " + what);

            ActivationChecks.poisonNextAllocations(dtype, device, shape);
            Tensor rn = F.rmsNorm(x, ns, w, 1e-3);
            assertArrayEquals(shape, rn.shape(), "rms_norm shape " + what);
            assertRef(RowReference.norm(xs, ws, null, rows, cols, 1e-3, true), rn, dtype, "rms_norm " + what);
            assertRef(RowReference.norm(xs, ws, null, rows, cols, RMS_EPS, true), F.rmsNorm(x, ns, w), dtype,
                    "rms_norm, default eps, " + what);
            assertRef(RowReference.norm(xs, null, null, rows, cols, RMS_EPS, true), F.rmsNorm(x, ns), dtype,
                    "rms_norm without weight " + what);

            // the backward over the same dims: gradients shaped like x and like normalizedShape
            Tensor dy = tensor(device, dtype, normal(numel, seed + 3, 0, 1), shape);
            float[] gs = dy.toFloatArray();
            NormGrads lg = F.layerNormBackward(x, ns, w, dy, 1e-3, true);
            RowReference.NormGrad lr = RowReference.normBackward(xs, ws, gs, rows, cols, 1e-3, false);
            assertArrayEquals(shape, lg.input().shape());
            assertArrayEquals(ns, lg.weight().shape());
            assertArrayEquals(ns, lg.bias().shape());
            assertRef(lr.dx(), lg.input(), dtype, "layer_norm grad_x " + what);
            assertRef(lr.dw(), lg.weight(), dtype, "layer_norm grad_weight " + what);
            assertRef(lr.db(), lg.bias(), dtype, "layer_norm grad_bias " + what);
            NormGrads rg = F.rmsNormBackward(x, ns, w, dy, 1e-3);
            RowReference.NormGrad rr = RowReference.normBackward(xs, ws, gs, rows, cols, 1e-3, true);
            assertRef(rr.dx(), rg.input(), dtype, "rms_norm grad_x " + what);
            assertRef(rr.dw(), rg.weight(), dtype, "rms_norm grad_weight " + what);
        }
    }

    /** The last-dim forms with torch's default eps. */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("lastDimCases")
    void lastDimDefaults(Device device, DType dtype, long[] shape) {
        try (Scope s = Scope.open()) {
            int cols = (int) shape[shape.length - 1], numel = product(shape, 0), rows = cols == 0 ? 0 : numel / cols;
            Tensor x = tensor(device, dtype, normal(numel, 5, -0.5, 3), shape);
            Tensor w = tensor(device, dtype, normal(cols, 6, 1, 0.5), cols), b = tensor(device, dtype, normal(cols, 7, 0, 1), cols);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray();
            String what = dtype + " " + Arrays.toString(shape) + " on " + device;
            assertRef(RowReference.norm(xs, ws, bs, rows, cols, LN_EPS, false), F.layerNorm(x, w, b), dtype, "layer_norm " + what);
            assertRef(RowReference.norm(xs, ws, null, rows, cols, RMS_EPS, true), F.rmsNorm(x, w), dtype, "rms_norm " + what);
            assertRef(RowReference.norm(xs, null, null, rows, cols, RMS_EPS, true), F.rmsNorm(x, (Tensor) null), dtype,
                    "rms_norm without weight " + what);
        }
    }

    /** Strided views as x: over one dim the kernel reads the view; over more, reshape copies it first. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void stridedViewsAreInputs(Device device) {
        try (Scope s = Scope.open()) {
            Tensor base = Tensor.of(normal(2 * 3 * 5, 9, 1, 2), new long[] {2, 3, 5}, device);
            Tensor x = base.transpose(0, 2);  // [5, 3, 2]
            float[] xs = x.toFloatArray();
            for (int k = 1; k <= 3; k++) {
                long[] ns = Arrays.copyOfRange(x.shape(), 3 - k, 3);
                int cols = product(ns, 0), rows = 30 / cols;
                float[] wv = normal(cols, 10 + k, 1, 0.5), bv = normal(cols, 20 + k, 0, 1);
                Tensor w = Tensor.of(wv, ns, device), b = Tensor.of(bv, ns, device);
                String what = "view [5, 3, 2] over " + Arrays.toString(ns) + " on " + device;
                assertRef(RowReference.norm(xs, wv, bv, rows, cols, LN_EPS, false), F.layerNorm(x, ns, w, b), DType.F32,
                        "layer_norm " + what);
                assertRef(RowReference.norm(xs, wv, null, rows, cols, RMS_EPS, true), F.rmsNorm(x, ns, w), DType.F32,
                        "rms_norm " + what);
            }
        }
    }
}
