package org.deepkern.gemm;

import org.deepkern.ops.Act;
import org.deepkern.testing.ActivationCase;
import org.deepkern.ops.F;
import org.deepkern.nn.Linear;
import org.deepkern.ops.LinearGrads;
import org.deepkern.ops.MatmulGrads;
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
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * matmul and linear against PyTorch (CPU, JavaCPP presets), values and autograd gradients, f32 and
 * bf16. The absolute tolerance scales with sum |a| |b| of each output (sqrt(K) for N(0, 1) inputs).
 * Each torch answer is first checked against the double reference (MatmulGradTest.reference, and
 * {@link #linearReference} for linear) on the same inputs ({@link Oracle}: a wrong one skips the case,
 * loudly); deepkern is asserted against the reference either way.
 */
class MatmulTorchTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16}) out.add(Arguments.of(d, t));
        });
        return out.stream();
    }

    static double tol(DType dtype) {
        return dtype == DType.F32 ? 2e-5 : Math.scalb(1.0, -6);
    }

    /**
     * One output: torch vetted against the double reference (at twice the tolerance), deepkern asserted
     * against it, and deepkern's comparison with torch queued for the oracle's judgement.
     */
    private static void agree(Oracle oracle, double[] ref, float[] torch, Tensor ours, double atol, DType dtype, String what) {
        double r = tol(dtype);
        oracle.vet("torch " + what, ref, torch, 2 * r, 2 * atol);
        float[] got = ours.toFloatArray();
        Close.assertClose(ref, got, r, atol, what + " vs the double reference");
        double[] t = new double[torch.length];
        for (int i = 0; i < t.length; i++) t[i] = torch[i];
        oracle.compare(() -> Close.assertClose(t, got, r, atol, what + " vs torch"));
    }

    private static MatmulGradTest.Ref reference(Tensor a, Tensor b, Tensor g) {
        return MatmulGradTest.reference(a.toFloatArray(), a.shape(), false, b.toFloatArray(), b.shape(), false, g.toFloatArray());
    }

    /** a [2, 1, 17, 33] @ b [3, 33, 7]: broadcast batch, odd sizes; gradients for the same batch shapes. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matmul(Device device, DType dtype) {
        try (Scope s = Scope.open()) {
            long[] as = {2, 1, 17, 33}, bs = {3, 33, 7};
            Tensor a = tensor(device, dtype, normal(2 * 17 * 33, 51, 0, 1), as);
            Tensor b = tensor(device, dtype, normal(3 * 33 * 7, 52, 0, 1), bs);
            Tensor g = tensor(device, dtype, normal(2 * 3 * 17 * 7, 53, 0, 1), 2, 3, 17, 7);
            Torch.Result t = Torch.matmul(a.toFloatArray(), as, b.toFloatArray(), bs, g.toFloatArray(), dtype);
            MatmulGradTest.Ref ref = reference(a, b, g);
            Oracle torch = Oracle.torch();
            String what = dtype + " on " + device;
            agree(torch, ref.out(), t.value(), F.matmul(a, b), tol(dtype) * 33, dtype, "matmul " + what);
            // a is broadcast over 3 batches, b over 2: their gradients are summed over them
            MatmulGrads grads = F.matmulBackward(a, b, g, false, false);
            agree(torch, ref.ga(), t.grads()[0], grads.a(), tol(dtype) * 7 * 3, dtype, "broadcast grad_a " + what);
            agree(torch, ref.gb(), t.grads()[1], grads.b(), tol(dtype) * 17 * 2, dtype, "broadcast grad_b " + what);
            torch.judge();
        }
    }

    /** 1-D operands: vector @ batched matrix, batched matrix @ vector, and the dot product. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void vectors(Device device, DType dtype) {
        long[][][] shapes = {{{33}, {2, 33, 7}}, {{2, 17, 33}, {33}}, {{33}, {33}}};
        Oracle torch = Oracle.torch();
        for (long[][] sh : shapes)
            try (Scope s = Scope.open()) {
                long[] as = sh[0], bs = sh[1];
                int na = (int) Arrays.stream(as).reduce(1, (x, y) -> x * y);
                int nb = (int) Arrays.stream(bs).reduce(1, (x, y) -> x * y);
                Tensor a = tensor(device, dtype, normal(na, 57, 0, 1), as), b = tensor(device, dtype, normal(nb, 58, 0, 1), bs);
                Tensor y = F.matmul(a, b);
                Tensor g = tensor(device, dtype, normal((int) y.numel(), 59, 0, 1), y.numel()).reshape(y.shape());
                Torch.Result t = Torch.matmul(a.toFloatArray(), as, b.toFloatArray(), bs, g.toFloatArray(), dtype);
                MatmulGradTest.Ref ref = reference(a, b, g);
                String what = Arrays.toString(as) + " @ " + Arrays.toString(bs) + " " + dtype + " on " + device;
                agree(torch, ref.out(), t.value(), y, tol(dtype) * 33, dtype, "matmul " + what);
                MatmulGrads grads = F.matmulBackward(a, b, g, false, false);
                agree(torch, ref.ga(), t.grads()[0], grads.a(), tol(dtype) * 7 * 17, dtype, "grad_a " + what);
                agree(torch, ref.gb(), t.grads()[1], grads.b(), tol(dtype) * 7 * 17, dtype, "grad_b " + what);
            }
        torch.judge();
    }

    /** Batched [3, 17, 33] @ [3, 33, 7] and its gradients, also with both operands stored transposed. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matmulGradients(Device device, DType dtype) {
        try (Scope s = Scope.open()) {
            long[] as = {3, 17, 33}, bs = {3, 33, 7};
            float[] av = normal(3 * 17 * 33, 54, 0, 1), bv = normal(3 * 33 * 7, 55, 0, 1), gv = normal(3 * 17 * 7, 56, 0, 1);
            Tensor a = tensor(device, dtype, av, as), b = tensor(device, dtype, bv, bs), g = tensor(device, dtype, gv, 3, 17, 7);
            Torch.Result t = Torch.matmul(a.toFloatArray(), as, b.toFloatArray(), bs, g.toFloatArray(), dtype);
            MatmulGradTest.Ref ref = reference(a, b, g);
            Oracle torch = Oracle.torch();
            String what = dtype + " on " + device;
            double tl = tol(dtype);
            agree(torch, ref.out(), t.value(), F.matmul(a, b), tl * 33, dtype, "matmul " + what);
            MatmulGrads grads = F.matmulBackward(a, b, g, false, false);
            agree(torch, ref.ga(), t.grads()[0], grads.a(), tl * 7, dtype, "matmul grad_a " + what);
            agree(torch, ref.gb(), t.grads()[1], grads.b(), tl * 17, dtype, "matmul grad_b " + what);
            // the same product from operands stored transposed: a^T [3, 33, 17], b^T [3, 7, 33]
            Tensor at = tensor(device, dtype, transpose(a.toFloatArray(), 3, 17, 33), 3, 33, 17);
            Tensor bt = tensor(device, dtype, transpose(b.toFloatArray(), 3, 33, 7), 3, 7, 33);
            agree(torch, ref.out(), t.value(), F.matmul(at, bt, true, true), tl * 33, dtype, "matmul transposed " + what);
            MatmulGrads tg = F.matmulBackward(at, bt, g, true, true);
            agree(torch, transpose(ref.ga(), 3, 17, 33), transpose(t.grads()[0], 3, 17, 33), tg.a(), tl * 7, dtype,
                    "matmul transposed grad_a " + what);
            agree(torch, transpose(ref.gb(), 3, 33, 7), transpose(t.grads()[1], 3, 33, 7), tg.b(), tl * 17, dtype,
                    "matmul transposed grad_b " + what);
            torch.judge();
        }
    }

    /** [batch, rows, cols] -> [batch, cols, rows]. */
    static float[] transpose(float[] v, int batch, int rows, int cols) {
        float[] o = new float[v.length];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) o[z * rows * cols + j * rows + i] = v[z * rows * cols + i * cols + j];
        return o;
    }

    static double[] transpose(double[] v, int batch, int rows, int cols) {
        double[] o = new double[v.length];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) o[z * rows * cols + j * rows + i] = v[z * rows * cols + i * cols + j];
        return o;
    }

    /** act(x w^T + b) + residual in double and its gradients for gradOut g: of x, w and b. */
    record Linear(double[] value, double[] gx, double[] gw, double[] gb) {}

    static Linear linearReference(float[] x, float[] w, float[] b, ActivationCase act, float[] residual, float[] g, int rows,
                                  int in, int out) {
        double[] value = new double[rows * out], gpre = new double[rows * out];
        for (int i = 0; i < rows; i++)
            for (int o = 0; o < out; o++) {
                double pre = b[o];
                for (int k = 0; k < in; k++) pre += (double) x[i * in + k] * w[o * in + k];
                value[i * out + o] = (act == null ? pre : act.f().applyAsDouble(pre)) + (residual == null ? 0 : residual[i * out + o]);
                gpre[i * out + o] = g[i * out + o] * (act == null ? 1 : act.df().applyAsDouble(pre));
            }
        double[] gx = new double[rows * in], gw = new double[out * in], gb = new double[out];
        for (int i = 0; i < rows; i++)
            for (int o = 0; o < out; o++) {
                double d = gpre[i * out + o];
                gb[o] += d;
                for (int k = 0; k < in; k++) {
                    gx[i * in + k] += d * w[o * in + k];
                    gw[o * in + k] += d * x[i * in + k];
                }
            }
        return new Linear(value, gx, gw, gb);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void linear(Device device, DType dtype) {
        try (Scope s = Scope.open()) {
            int rows = 130, in = 65, out = 31;
            Tensor x = tensor(device, dtype, normal(rows * in, 61, 0, 1), rows, in);
            Tensor w = tensor(device, dtype, normal(out * in, 62, 0, 0.2), out, in);
            Tensor b = tensor(device, dtype, normal(out, 63, 0, 1), out);
            Tensor g = tensor(device, dtype, normal(rows * out, 64, 0, 1), rows, out);
            Torch.Result t = Torch.linear(x.toFloatArray(), rows, in, w.toFloatArray(), out, b.toFloatArray(),
                    g.toFloatArray(), dtype);
            Linear ref = linearReference(x.toFloatArray(), w.toFloatArray(), b.toFloatArray(), null, null, g.toFloatArray(), rows,
                    in, out);
            Oracle torch = Oracle.torch();
            String what = dtype + " on " + device;
            double tl = tol(dtype);
            agree(torch, ref.value(), t.value(), F.linear(x, w, b), tl * 0.2 * in, dtype, "linear " + what);
            LinearGrads grads = F.linearBackward(x, w, g, true);
            agree(torch, ref.gx(), t.grads()[0], grads.input(), tl * 0.2 * out, dtype, "linear grad_x " + what);
            agree(torch, ref.gw(), t.grads()[1], grads.weight(), tl * rows, dtype, "linear grad_weight " + what);
            agree(torch, ref.gb(), t.grads()[2], grads.bias(), tl * rows, dtype, "linear grad_bias " + what);
            torch.judge();
        }
    }

    /** linear with a fused activation and a residual, forward and linearBackward, against torch's autograd. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void linearWithActivation(Device device, DType dtype) {
        int rows = 130, in = 65, out = 31;
        Oracle torch = Oracle.torch();
        for (String name : new String[] {"gelu", "silu", "tanh"})
            try (Scope s = Scope.open()) {
                ActivationCase c = ActivationCase.named(name);
                Act act = c.act();
                Tensor x = tensor(device, dtype, normal(rows * in, 65, 0, 1), rows, in);
                Tensor w = tensor(device, dtype, normal(out * in, 66, 0, 0.2), out, in);
                Tensor b = tensor(device, dtype, normal(out, 67, 0, 1), out);
                Tensor r = tensor(device, dtype, normal(rows * out, 68, 0, 1), rows, out);
                Tensor g = tensor(device, dtype, normal(rows * out, 69, 0, 1), rows, out);
                Torch.Result t = Torch.linear(x.toFloatArray(), rows, in, w.toFloatArray(), out, b.toFloatArray(), act,
                        r.toFloatArray(), g.toFloatArray(), dtype);
                Linear ref = linearReference(x.toFloatArray(), w.toFloatArray(), b.toFloatArray(), c, r.toFloatArray(),
                        g.toFloatArray(), rows, in, out);
                String what = act + " " + dtype + " on " + device;
                double tl = tol(dtype);
                agree(torch, ref.value(), t.value(), F.linear(x, w, b, act, r), tl * 0.2 * in, dtype, "linear + " + what);
                LinearGrads grads = F.linearBackward(x, w, b, act, g);
                agree(torch, ref.gx(), t.grads()[0], grads.input(), tl * 0.2 * out * 2, dtype, "linear + act grad_x " + what);
                agree(torch, ref.gw(), t.grads()[1], grads.weight(), tl * rows * 2, dtype, "linear + act grad_weight " + what);
                agree(torch, ref.gb(), t.grads()[2], grads.bias(), tl * rows * 2, dtype, "linear + act grad_bias " + what);
            }
        torch.judge();
    }
}
