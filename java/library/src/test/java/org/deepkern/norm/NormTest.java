package org.deepkern.norm;

import org.deepkern.testing.RowChecks;
import org.deepkern.testing.RowReference;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;
import static org.deepkern.testing.RowChecks.assertFiniteDifferences;
import static org.deepkern.testing.RowChecks.assertRef;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;

import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** layer_norm and rms_norm over the last dim, forward and backward, against plain double loops. */
class NormTest {
    static final double EPS = 1e-5;

    static Stream<Arguments> cases() {
        return RowChecks.deviceDtypeShapes();
    }

    static Stream<Arguments> devices() {
        return RowChecks.devices();
    }

    @ParameterizedTest(name = "{0} {1} [{2}, {3}]")
    @MethodSource("cases")
    void forwardAndBackward(Device device, DType dtype, int rows, int cols) {
        try (Scope s = Scope.open()) {
            int n = rows * cols;
            long seed = 2000L * rows + cols;
            long[] shape = {rows, cols}, param = {cols};
            Tensor x = tensor(device, dtype, normal(n, seed, 0.5, 2), shape);
            Tensor w = tensor(device, dtype, normal(cols, seed + 1, 1, 0.5), param);
            Tensor b = tensor(device, dtype, normal(cols, seed + 2, 0, 1), param);
            Tensor dy = tensor(device, dtype, normal(n, seed + 3, 0, 1), shape);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray(), gs = dy.toFloatArray();
            String what = dtype + " [" + rows + ", " + cols + "] on " + device;

            ActivationChecks.poisonNextAllocations(dtype, device, shape);
            assertRef(RowReference.norm(xs, ws, bs, rows, cols, EPS, false), F.layerNorm(x, w, b, EPS), dtype,
                    "layer_norm " + what);
            ActivationChecks.poisonNextAllocations(dtype, device, shape, param, param);
            NormGrads ln = F.layerNormBackward(x, w, dy, EPS, true);
            RowReference.NormGrad lr = RowReference.normBackward(xs, ws, gs, rows, cols, EPS, false);
            assertRef(lr.dx(), ln.input(), dtype, "layer_norm grad_x " + what);
            assertRef(lr.dw(), ln.weight(), dtype, "layer_norm grad_weight " + what);
            assertRef(lr.db(), ln.bias(), dtype, "layer_norm grad_bias " + what);

            ActivationChecks.poisonNextAllocations(dtype, device, shape);
            assertRef(RowReference.norm(xs, ws, null, rows, cols, EPS, true), F.rmsNorm(x, w, EPS), dtype,
                    "rms_norm " + what);
            ActivationChecks.poisonNextAllocations(dtype, device, shape, param);
            NormGrads rn = F.rmsNormBackward(x, w, dy, EPS);
            RowReference.NormGrad rr = RowReference.normBackward(xs, ws, gs, rows, cols, EPS, true);
            assertRef(rr.dx(), rn.input(), dtype, "rms_norm grad_x " + what);
            assertRef(rr.dw(), rn.weight(), dtype, "rms_norm grad_weight " + what);
        }
    }

    /**
     * f16 / bf16 input with f32 parameters (torch's mixed-dtype norm, what autocast feeds it): the
     * output in x's dtype, the parameters read and their gradients written in f32, unrounded.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void f32ParametersWithHalfInputs(Device device) {
        int rows = 17, cols = 257, n = rows * cols;
        long[] shape = {rows, cols};
        for (DType dtype : new DType[] {DType.F16, DType.BF16})
            try (Scope s = Scope.open()) {
                Tensor x = tensor(device, dtype, normal(n, 31, 0.5, 2), shape);
                Tensor dy = tensor(device, dtype, normal(n, 32, 0, 1), shape);
                float[] ws = normal(cols, 33, 1, 0.5), bs = normal(cols, 34, 0, 1);
                Tensor w = Tensor.of(ws, cols).to(device), b = Tensor.of(bs, cols).to(device);
                float[] xs = x.toFloatArray(), gs = dy.toFloatArray();
                String what = dtype + " x, f32 parameters on " + device;
                Tensor y = F.layerNorm(x, w, b, EPS);
                org.junit.jupiter.api.Assertions.assertEquals(dtype, y.dtype());
                assertRef(RowReference.norm(xs, ws, bs, rows, cols, EPS, false), y, dtype, "layer_norm " + what);
                assertRef(RowReference.norm(xs, ws, null, rows, cols, EPS, true), F.rmsNorm(x, w, EPS), dtype, "rms_norm " + what);
                NormGrads g = F.layerNormBackward(x, w, dy, EPS, true);
                RowReference.NormGrad r = RowReference.normBackward(xs, ws, gs, rows, cols, EPS, false);
                assertRef(r.dx(), g.input(), dtype, "layer_norm grad_x " + what);
                org.junit.jupiter.api.Assertions.assertEquals(DType.F32, g.weight().dtype());
                assertRef(r.dw(), g.weight(), DType.F32, "layer_norm grad_weight " + what);
                assertRef(r.db(), g.bias(), DType.F32, "layer_norm grad_bias " + what);
                NormGrads rg = F.rmsNormBackward(x, w, dy, EPS);
                assertRef(RowReference.normBackward(xs, ws, gs, rows, cols, EPS, true).dw(), rg.weight(), DType.F32,
                        "rms_norm grad_weight " + what);
                // all parameters of one call share a dtype
                Tensor bx = b.to(dtype);
                var e = org.junit.jupiter.api.Assertions.assertThrows(org.deepkern.DeepKernException.class,
                        () -> F.layerNorm(x, w, bx, EPS));
                org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith(
                        "F.layerNorm: argument 'bias': expected dtype f32 (the dtype of 'weight')"), e.getMessage());
            }
    }

    /** A bias without a weight (torch allows either alone), every dtype. */
    @ParameterizedTest(name = "{0} {1} [{2}, {3}]")
    @MethodSource("cases")
    void biasWithoutWeight(Device device, DType dtype, int rows, int cols) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(device, dtype, normal(rows * cols, 77, 0.5, 2), rows, cols);
            Tensor b = tensor(device, dtype, normal(cols, 78, 0, 1), cols);
            assertRef(RowReference.norm(x.toFloatArray(), null, b.toFloatArray(), rows, cols, EPS, false),
                    F.layerNorm(x, null, b, EPS), dtype, "layer_norm with a bias only, " + dtype + " on " + device);
        }
    }

    /** Without weight and bias (torch's elementwise_affine=False), in a rank-3 tensor. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void withoutAffine(Device device) {
        try (Scope s = Scope.open()) {
            int rows = 2 * 5, cols = 33;
            float[] xv = normal(rows * cols, 9, -1, 3), gv = normal(rows * cols, 10, 0, 1);
            Tensor x = Tensor.of(xv, new long[] {2, 5, cols}, device), dy = Tensor.of(gv, new long[] {2, 5, cols}, device);
            for (boolean rms : new boolean[] {false, true}) {
                String what = (rms ? "rms_norm" : "layer_norm") + " without affine on " + device;
                Tensor y = rms ? F.rmsNorm(x, null, 1e-3) : F.layerNorm(x, null, null, 1e-3);
                assertRef(RowReference.norm(xv, null, null, rows, cols, 1e-3, rms), y, DType.F32, what);
                NormGrads g = rms ? F.rmsNormBackward(x, null, dy, 1e-3) : F.layerNormBackward(x, null, dy, 1e-3, false);
                assertRef(RowReference.normBackward(xv, null, gv, rows, cols, 1e-3, rms).dx(), g.input(), DType.F32, what);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void backwardIsTheDerivative(Device device) {
        try (Scope s = Scope.open()) {
            int rows = 3, cols = 7;
            long[] shape = {rows, cols}, param = {cols};
            float[] xv = normal(rows * cols, 11, 0.3, 1), wv = normal(cols, 12, 1, 0.5), bv = normal(cols, 13, 0, 1);
            float[] r = normal(rows * cols, 14, 0, 1);
            Tensor x = Tensor.of(xv, shape, device), w = Tensor.of(wv, param, device), b = Tensor.of(bv, param, device);
            Tensor g = Tensor.of(r, shape, device);
            NormGrads ln = F.layerNormBackward(x, w, g, EPS, true);
            assertFiniteDifferences(device, xv.clone(), shape, r, t -> F.layerNorm(t, w, b, EPS), ln.input().toFloatArray(),
                    "layer_norm x on " + device);
            assertFiniteDifferences(device, wv.clone(), param, r, t -> F.layerNorm(x, t, b, EPS),
                    ln.weight().toFloatArray(), "layer_norm weight on " + device);
            assertFiniteDifferences(device, bv.clone(), param, r, t -> F.layerNorm(x, w, t, EPS), ln.bias().toFloatArray(),
                    "layer_norm bias on " + device);
            NormGrads rn = F.rmsNormBackward(x, w, g, EPS);
            assertFiniteDifferences(device, xv.clone(), shape, r, t -> F.rmsNorm(t, w, EPS), rn.input().toFloatArray(),
                    "rms_norm x on " + device);
            assertFiniteDifferences(device, wv.clone(), param, r, t -> F.rmsNorm(x, t, EPS), rn.weight().toFloatArray(),
                    "rms_norm weight on " + device);
        }
    }
}
