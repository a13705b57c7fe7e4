package org.deepkern.norm;

import org.deepkern.testing.RowChecks;
import org.deepkern.testing.RowReference;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;
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
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * softmax, log_softmax, layer_norm and rms_norm against PyTorch (CPU, JavaCPP presets): values and
 * autograd gradients, f32 and bf16. The absolute tolerance scales with the double reference's
 * magnitude of each element (RowReference), since torch's bf16 autograd rounds its intermediates.
 * Each torch answer is first checked against that double reference ({@link Oracle}: a wrong one skips
 * the case, loudly); deepkern is asserted against the reference either way.
 */
class NormTorchTest {
    static final double EPS = 1e-5;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (int[] rc : new int[][] {{17, 257}, {130, 64}}) out.add(Arguments.of(d, t, rc[0], rc[1]));
        });
        return out.stream();
    }

    static double tol(DType dtype) {
        return dtype == DType.F32 ? 2e-5 : Math.scalb(1.0, -6);
    }

    /**
     * One output: torch vetted against the double reference, deepkern asserted against it, and the
     * comparison with torch queued for the oracle's judgement at the end of the case.
     */
    static void agree(Oracle oracle, float[] torch, RowReference.Out ref, Tensor ours, DType dtype, String what) {
        double t = tol(dtype);
        oracle.vet("torch " + what, ref.value(), torch, 2 * t, i -> 2 * t * ref.mag()[i] + RowChecks.floor(dtype));
        RowChecks.assertRef(ref, ours, dtype, what + " vs the double reference");
        float[] got = ours.toFloatArray();
        double[] tv = new double[torch.length];
        for (int i = 0; i < tv.length; i++) tv[i] = torch[i];
        oracle.compare(() -> Close.assertClose(tv, got, t, i -> t * ref.mag()[i], what + " vs torch"));
    }

    @ParameterizedTest(name = "{0} {1} [{2}, {3}]")
    @MethodSource("cases")
    void softmax(Device device, DType dtype, int rows, int cols) {
        try (Scope s = Scope.open()) {
            int n = rows * cols;
            Tensor x = tensor(device, dtype, normal(n, 31, 0, 3), rows, cols);
            Tensor dy = tensor(device, dtype, normal(n, 32, 0, 1), rows, cols);
            float[] xs = x.toFloatArray(), gs = dy.toFloatArray();
            Oracle torch = Oracle.torch();
            for (boolean log : new boolean[] {false, true}) {
                String what = (log ? "log_softmax " : "softmax ") + dtype + " [" + rows + ", " + cols + "] on " + device;
                Torch.Result t = Torch.softmax(xs, rows, cols, gs, log, dtype);
                Tensor y = log ? F.logSoftmax(x) : F.softmax(x);
                agree(torch, t.value(), RowReference.softmax(xs, rows, cols, log), y, dtype, what);
                Tensor dx = log ? F.logSoftmaxBackward(y, dy) : F.softmaxBackward(y, dy);
                agree(torch, t.grads()[0], RowReference.softmaxBackward(y.toFloatArray(), gs, rows, cols, log), dx, dtype,
                        what + " gradient");
            }
            torch.judge();
        }
    }

    @ParameterizedTest(name = "{0} {1} [{2}, {3}]")
    @MethodSource("cases")
    void norms(Device device, DType dtype, int rows, int cols) {
        try (Scope s = Scope.open()) {
            int n = rows * cols;
            Tensor x = tensor(device, dtype, normal(n, 41, 0.5, 2), rows, cols);
            Tensor w = tensor(device, dtype, normal(cols, 42, 1, 0.5), cols);
            Tensor b = tensor(device, dtype, normal(cols, 43, 0, 1), cols);
            Tensor dy = tensor(device, dtype, normal(n, 44, 0, 1), rows, cols);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray(), gs = dy.toFloatArray();
            String what = dtype + " [" + rows + ", " + cols + "] on " + device;
            Oracle torch = Oracle.torch();

            Torch.Result t = Torch.layerNorm(xs, ws, bs, rows, cols, gs, EPS, dtype);
            RowReference.NormGrad lr = RowReference.normBackward(xs, ws, gs, rows, cols, EPS, false);
            agree(torch, t.value(), RowReference.norm(xs, ws, bs, rows, cols, EPS, false), F.layerNorm(x, w, b, EPS), dtype,
                    "layer_norm " + what);
            NormGrads ln = F.layerNormBackward(x, w, dy, EPS, true);
            agree(torch, t.grads()[0], lr.dx(), ln.input(), dtype, "layer_norm grad_x " + what);
            agree(torch, t.grads()[1], lr.dw(), ln.weight(), dtype, "layer_norm grad_weight " + what);
            agree(torch, t.grads()[2], lr.db(), ln.bias(), dtype, "layer_norm grad_bias " + what);

            Torch.Result r = Torch.rmsNorm(xs, ws, rows, cols, gs, EPS, dtype);
            RowReference.NormGrad rr = RowReference.normBackward(xs, ws, gs, rows, cols, EPS, true);
            agree(torch, r.value(), RowReference.norm(xs, ws, null, rows, cols, EPS, true), F.rmsNorm(x, w, EPS), dtype,
                    "rms_norm " + what);
            NormGrads rn = F.rmsNormBackward(x, w, dy, EPS);
            agree(torch, r.grads()[0], rr.dx(), rn.input(), dtype, "rms_norm grad_x " + what);
            agree(torch, r.grads()[1], rr.dw(), rn.weight(), dtype, "rms_norm grad_weight " + what);
            torch.judge();
        }
    }
}
