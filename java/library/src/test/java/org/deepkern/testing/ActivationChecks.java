package org.deepkern.testing;

import org.deepkern.ops.ActivationGrads;
import org.deepkern.ops.F;
import org.deepkern.ops.GatedGrads;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.function.DoubleUnaryOperator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;

/**
 * The activation and gated-unit checks against the double references of {@link ActivationCase},
 * run by ActivationTest on cpu/emu and by ActivationGpuTest on cuda.
 *
 * <p>Inputs are made in f32, converted with {@code .to(dtype)} and read back, so the reference sees
 * exactly the rounded inputs the op sees. Outputs are poisoned with NaN where the API takes an
 * {@code out}; for the allocating forms (the backward passes, the gated units) NaN-filled blocks
 * of the output's size are left on top of the allocator's cache first, so an element the op does
 * not write is caught there too.
 */
public final class ActivationChecks {
    private ActivationChecks() {}

    public static final DType[] DTYPES = {DType.F32, DType.F16, DType.BF16};
    public static final long BIG = (1 << 20) + 3;
    public static final long[] SIZES = {0, 1, 7, 4097, BIG};

    /**
     * The shape each size is tested in; the last dim is what the bias runs along and what the gated
     * units' split form halves, odd everywhere: 4097 = 241 x 17, 2^20 + 3 = 149797 x 7.
     */
    public static long[] shape(long n) {
        if (n == 0) return new long[] {0, 7};
        if (n == 1) return new long[] {1};
        if (n == 7) return new long[] {1, 1, 7};
        if (n == 4097) return new long[] {241, 17};
        if (n == BIG) return new long[] {149797, 7};
        throw new IllegalArgumentException("no shape for " + n);
    }

    // ---- tolerances ----

    /**
     * Relative tolerance: f32 1e-5; f16 and bf16 one unit in the last place of the output (2^-10
     * and 2^-7 relative to the value cover a full ulp anywhere in a binade).
     */
    public static double rtol(DType dtype) {
        return switch (dtype) {
            case F32 -> 1e-5;
            case F16 -> Math.scalb(1.0, -10);
            case BF16 -> Math.scalb(1.0, -7);
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    /**
     * Absolute floor: f16's subnormal spacing; for f32 and bf16 1e-30, met only in far tails where
     * f32 exp under- or overflows (sigmoid(-89) is 0 in f32 arithmetic, as in torch).
     */
    public static double atol(DType dtype) {
        return dtype == DType.F16 ? Math.scalb(1.0, -24) : 1e-30;
    }

    /**
     * Extra absolute tolerance of a gradient per unit of what multiplies act'(x) (the output's
     * gradient, times up for a gate). Where a derivative crosses zero (silu near -1.28, gelu near
     * -0.75, mish, hardswish at -1.5) it is the difference of f32 terms of size ~1, which leaves an
     * absolute error of a few f32 ulps of 1 (~1e-7) that no relative tolerance can cover.
     */
    public static final double GRAD_ATOL = 1e-6;

    /** v as the dtype holds it where it overflows: the largest finite value rounds to infinity past it. */
    public static double saturate(DType dtype, double v) {
        double limit = switch (dtype) {
            case F32 -> Math.scalb(2.0 - Math.scalb(1.0, -24), 127);
            case F16 -> Math.scalb(2.0 - Math.scalb(1.0, -11), 15);
            case BF16 -> Math.scalb(2.0 - Math.scalb(1.0, -8), 127);
            default -> throw new IllegalArgumentException(dtype.toString());
        };
        return Math.abs(v) >= limit ? Math.copySign(Double.POSITIVE_INFINITY, v) : v;
    }

    // ---- tensors ----

    public static Tensor tensor(Device device, DType dtype, float[] values, long... shape) {
        try (Tensor f = Tensor.of(values, shape, device)) {
            return f.to(dtype);
        }
    }

    /**
     * Leaves NaN-filled blocks shaped like the outputs an allocating op is about to make on top of
     * the device allocator's free lists (last in, first out), so the op's outputs start as NaN.
     * Call it right before the op, listing outputs in the order the op allocates them.
     */
    public static void poisonNextAllocations(DType dtype, Device device, long[]... shapes) {
        Tensor[] blocks = new Tensor[shapes.length];
        for (int i = 0; i < shapes.length; i++) blocks[i] = Tensor.full(shapes[i], Double.NaN, dtype, device);
        for (int i = shapes.length - 1; i >= 0; i--) blocks[i].close();
    }

    private static double[] map(float[] x, DoubleUnaryOperator f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = f.applyAsDouble(x[i]);
        return y;
    }

    private static double[] saturate(DType dtype, double[] v) {
        for (int i = 0; i < v.length; i++) v[i] = saturate(dtype, v[i]);
        return v;
    }

    private static String what(String op, ActivationCase c, DType dtype, long n, Device device) {
        return op + " " + c + " " + dtype + " n=" + n + " on " + device;
    }

    // ---- element-wise activation ----

    public static void forward(Device device, DType dtype, ActivationCase c, long n) {
        try (Scope scope = Scope.open()) {
            long[] shape = shape(n);
            Tensor x = tensor(device, dtype, c.inputs((int) n, 31 * n + dtype.ordinal(), dtype), shape);
            float[] xs = x.toFloatArray();
            Tensor out = Tensor.full(shape, Double.NaN, dtype, device);
            F.activation(c.act(), x, null, out);
            Close.assertClose(saturate(dtype, map(xs, c.f())), out.toFloatArray(), rtol(dtype), atol(dtype),
                    what("forward", c, dtype, n, device));
            assertArrayEquals(out.toFloatArray(), F.activation(c.act(), x).toFloatArray(), "allocating form");
        }
    }

    public static void backward(Device device, DType dtype, ActivationCase c, long n) {
        try (Scope scope = Scope.open()) {
            long[] shape = shape(n);
            Tensor x = tensor(device, dtype, c.inputs((int) n, 37 * n + dtype.ordinal(), dtype), shape);
            Tensor g = tensor(device, dtype, ActivationCase.normal((int) n, 41 * n), shape);
            float[] xs = x.toFloatArray(), gs = g.toFloatArray();
            poisonNextAllocations(dtype, device, shape);
            Tensor gradIn = F.activationBackward(c.act(), x, g);
            double[] expected = new double[xs.length];
            for (int i = 0; i < xs.length; i++) expected[i] = saturate(dtype, gs[i] * c.df().applyAsDouble(xs[i]));
            Close.assertClose(expected, gradIn.toFloatArray(), rtol(dtype), i -> atol(dtype) + GRAD_ATOL * Math.abs(gs[i]),
                    what("backward", c, dtype, n, device));
        }
    }

    /**
     * act(x + bias) and its gradients. The sum x + bias is formed in f32, as deepkern.h specifies
     * ("math in f32"), so the reference takes it rounded to float: a switch point hit by an
     * inexact sum cannot then flip a comparison. Columns start at switch point minus bias (exact:
     * the biases are small dyadic numbers) so the fused sum lands on the switch points.
     */
    public static void withBias(Device device, DType dtype, ActivationCase c, long n) {
        try (Scope scope = Scope.open()) {
            long[] shape = shape(n);
            int cols = (int) shape[shape.length - 1];
            float[] bias = new float[cols];
            for (int j = 0; j < cols; j++) bias[j] = new float[] {0.5f, -1.25f, 2f, 0f, -3f, 0.25f, 1.5f}[j % 7];
            float[] xv = c.inputs((int) n, 43 * n + dtype.ordinal(), dtype);
            float[] sp = c.specialInputs();
            for (int i = 0; i < Math.min(xv.length, sp.length); i++) xv[i] = sp[i] - bias[i % cols];
            Tensor x = tensor(device, dtype, xv, shape);
            Tensor b = tensor(device, dtype, bias, cols);
            Tensor g = tensor(device, dtype, ActivationCase.normal((int) n, 47 * n), shape);
            float[] xs = x.toFloatArray(), bs = b.toFloatArray(), gs = g.toFloatArray();
            float[] sum = new float[xs.length];
            for (int i = 0; i < xs.length; i++) sum[i] = xs[i] + bs[i % cols];

            Tensor out = Tensor.full(shape, Double.NaN, dtype, device);
            F.activation(c.act(), x, b, out);
            Close.assertClose(saturate(dtype, map(sum, c.f())), out.toFloatArray(), rtol(dtype), atol(dtype),
                    what("forward+bias", c, dtype, n, device));

            poisonNextAllocations(dtype, device, shape, new long[] {cols});
            try (ActivationGrads grads = F.activationBackward(c.act(), x, b, g)) {
                double[] gradIn = new double[xs.length], gradBias = new double[cols], terms = new double[cols];
                double[] slack = new double[cols];
                for (int i = 0; i < xs.length; i++) {
                    gradIn[i] = gs[i] * c.df().applyAsDouble(sum[i]);
                    gradBias[i % cols] += gradIn[i];
                    terms[i % cols] += Math.abs(gradIn[i]);
                    slack[i % cols] += GRAD_ATOL * Math.abs(gs[i]);
                }
                Close.assertClose(saturate(dtype, gradIn), grads.input().toFloatArray(), rtol(dtype),
                        i -> atol(dtype) + GRAD_ATOL * Math.abs(gs[i]), what("backward+bias (x)", c, dtype, n, device));
                // a sum's error scales with the sum of its terms' magnitudes, not with its value
                Close.assertClose(gradBias, grads.bias().toFloatArray(), 0,
                        j -> atol(dtype) + rtol(dtype) * terms[j] + slack[j], what("backward+bias (bias)", c, dtype, n, device));
            }
        }
    }

    // ---- gated units: out = up * act(gate) ----

    /**
     * Both forms on the same numbers: two tensors gate and up of shape(n), and the split form
     * x = [up | gate] along the last dim (torch glu's order: first half times act(second half)).
     */
    public static void gated(Device device, DType dtype, ActivationCase c, long n) {
        try (Scope scope = Scope.open()) {
            long[] shape = shape(n);
            int h = (int) shape[shape.length - 1], rows = (int) (n / Math.max(h, 1));
            Tensor gate = tensor(device, dtype, c.inputs((int) n, 53 * n + dtype.ordinal(), dtype), shape);
            Tensor up = tensor(device, dtype, ActivationCase.normal((int) n, 59 * n), shape);
            Tensor g = tensor(device, dtype, ActivationCase.normal((int) n, 61 * n), shape);
            float[] gv = gate.toFloatArray(), uv = up.toFloatArray(), gs = g.toFloatArray();

            double[] out = new double[(int) n], gradGate = new double[(int) n], gradUp = new double[(int) n];
            for (int i = 0; i < n; i++) {
                out[i] = saturate(dtype, uv[i] * c.f().applyAsDouble(gv[i]));
                gradGate[i] = saturate(dtype, gs[i] * uv[i] * c.df().applyAsDouble(gv[i]));
                gradUp[i] = saturate(dtype, gs[i] * c.f().applyAsDouble(gv[i]));
            }
            double r = rtol(dtype), a = atol(dtype);

            poisonNextAllocations(dtype, device, shape);
            Close.assertClose(out, F.gated(c.act(), gate, up).toFloatArray(), r, a, what("gated", c, dtype, n, device));
            poisonNextAllocations(dtype, device, shape, shape);
            try (GatedGrads grads = F.gatedBackward(c.act(), gate, up, g)) {
                Close.assertClose(gradGate, grads.gate().toFloatArray(), r,
                        i -> a + GRAD_ATOL * Math.abs(gs[i] * uv[i]), what("gated backward (gate)", c, dtype, n, device));
                Close.assertClose(gradUp, grads.up().toFloatArray(), r, a, what("gated backward (up)", c, dtype, n, device));
            }

            // split form: row k of x is [up row k | gate row k]
            long[] doubled = shape.clone();
            doubled[doubled.length - 1] *= 2;
            float[] xv = new float[2 * (int) n];
            double[] gradX = new double[2 * (int) n];
            double[] slack = new double[2 * (int) n];
            for (int k = 0; k < rows; k++)
                for (int j = 0; j < h; j++) {
                    int i = k * h + j;
                    xv[2 * k * h + j] = uv[i];
                    xv[2 * k * h + h + j] = gv[i];
                    gradX[2 * k * h + j] = gradUp[i];
                    gradX[2 * k * h + h + j] = gradGate[i];
                    slack[2 * k * h + h + j] = GRAD_ATOL * Math.abs(gs[i] * uv[i]);
                }
            Tensor x = tensor(device, dtype, xv, doubled);  // exact: the values are already rounded to dtype
            poisonNextAllocations(dtype, device, shape);
            Close.assertClose(out, F.gated(c.act(), x).toFloatArray(), r, a, what("gated split", c, dtype, n, device));
            poisonNextAllocations(dtype, device, doubled);
            Close.assertClose(gradX, F.gatedBackward(c.act(), x, g).toFloatArray(), r, i -> a + slack[i],
                    what("gated split backward", c, dtype, n, device));
        }
    }
}
