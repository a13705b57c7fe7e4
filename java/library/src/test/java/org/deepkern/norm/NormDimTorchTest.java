package org.deepkern.norm;

import static org.deepkern.norm.NormTorchTest.agree;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.RowReference;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * softmax over any dim, and layer_norm / rms_norm over a normalized shape with torch's defaults,
 * against PyTorch (torch.softmax(x, dim), layer_norm(x, normalized_shape), rms_norm(x,
 * normalized_shape) with eps None), f32 and bf16. torch's answer is vetted against the double
 * reference first, computed with the defaults deepkern chose: a torch default other than ours
 * shows there as "ORACLE WRONG" and skips the case.
 */
class NormDimTorchTest {
    static final long[] SHAPE = {4, 6, 10};

    /** Each host device x f32, bf16 x each i in [from, to). */
    static Stream<Arguments> cases(int from, int to) {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (int i = from; i < to; i++) out.add(Arguments.of(d, t, i));
        });
        return out.stream();
    }

    static Stream<Arguments> dims() {
        return cases(-SHAPE.length, SHAPE.length);
    }

    static Stream<Arguments> trailingCounts() {
        return cases(1, SHAPE.length + 1);
    }

    @ParameterizedTest(name = "{0} {1} dim {2}")
    @MethodSource("dims")
    void softmaxOverADim(Device device, DType dtype, int dim) {
        try (Scope s = Scope.open()) {
            int numel = 240, n = SoftmaxDimTest.extent(SHAPE, dim);
            Tensor x = tensor(device, dtype, normal(numel, 51 + dim, 0, 3), SHAPE);
            Tensor dy = tensor(device, dtype, normal(numel, 61 + dim, 0, 1), SHAPE);
            float[] xs = x.toFloatArray(), gs = dy.toFloatArray();
            Oracle torch = Oracle.torch();
            for (boolean log : new boolean[] {false, true}) {
                String what = (log ? "log_softmax " : "softmax ") + dtype + " dim " + dim + " on " + device;
                Torch.Result t = Torch.softmax(xs, SHAPE, dim, gs, log, dtype);
                Tensor y = log ? F.logSoftmax(x, dim) : F.softmax(x, dim);
                agree(torch, t.value(), SoftmaxDimTest.unrows(RowReference.softmax(SoftmaxDimTest.rows(xs, SHAPE, dim),
                        numel / n, n, log), SHAPE, dim), y, dtype, what);
                Tensor dx = log ? F.logSoftmaxBackward(y, dy, dim) : F.softmaxBackward(y, dy, dim);
                agree(torch, t.grads()[0], SoftmaxDimTest.unrows(RowReference.softmaxBackward(SoftmaxDimTest.rows(
                        y.toFloatArray(), SHAPE, dim), SoftmaxDimTest.rows(gs, SHAPE, dim), numel / n, n, log), SHAPE, dim),
                        dx, dtype, what + " gradient");
            }
            torch.judge();
        }
    }

    /**
     * Over the last k dims. x is N(0.01, 0.03^2), so its mean square (~1e-3) does not drown
     * rms_norm's default eps: a default of bf16's epsilon (2^-7) instead of f32's would change
     * every value by half.
     */
    @ParameterizedTest(name = "{0} {1} last {2}")
    @MethodSource("trailingCounts")
    void normsOverAShapeWithTorchDefaults(Device device, DType dtype, int k) {
        try (Scope s = Scope.open()) {
            long[] ns = Arrays.copyOfRange(SHAPE, SHAPE.length - k, SHAPE.length);
            int cols = (int) Arrays.stream(ns).reduce(1, (a, b) -> a * b), rows = 240 / cols;
            Tensor x = tensor(device, dtype, normal(240, 71 + k, 0.01, 0.03), SHAPE);
            Tensor w = tensor(device, dtype, normal(cols, 81 + k, 1, 0.5), ns);
            Tensor b = tensor(device, dtype, normal(cols, 91 + k, 0, 1), ns);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray();
            String what = dtype + " over " + Arrays.toString(ns) + " on " + device;
            Oracle torch = Oracle.torch();
            agree(torch, Torch.layerNorm(xs, SHAPE, ns, null, null, Double.NaN, dtype),
                    RowReference.norm(xs, null, null, rows, cols, NormShapeTest.LN_EPS, false), F.layerNorm(x, ns), dtype,
                    "layer_norm(x, normalized_shape) " + what);
            agree(torch, Torch.layerNorm(xs, SHAPE, ns, ws, bs, 1e-5, dtype),
                    RowReference.norm(xs, ws, bs, rows, cols, NormShapeTest.LN_EPS, false), F.layerNorm(x, ns, w, b), dtype,
                    "layer_norm(x, normalized_shape, weight, bias) " + what);
            agree(torch, Torch.rmsNorm(xs, SHAPE, ns, null, Double.NaN, dtype),
                    RowReference.norm(xs, null, null, rows, cols, NormShapeTest.RMS_EPS, true), F.rmsNorm(x, ns), dtype,
                    "rms_norm(x, normalized_shape) " + what);
            agree(torch, Torch.rmsNorm(xs, SHAPE, ns, ws, Double.NaN, dtype),
                    RowReference.norm(xs, ws, null, rows, cols, NormShapeTest.RMS_EPS, true), F.rmsNorm(x, ns, w), dtype,
                    "rms_norm(x, normalized_shape, weight) " + what);
            torch.judge();
        }
    }
}
