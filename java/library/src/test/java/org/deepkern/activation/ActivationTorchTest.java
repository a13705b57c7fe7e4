package org.deepkern.activation;

import org.deepkern.testing.ActivationCase;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.GatedGrads;
import static org.deepkern.testing.ActivationChecks.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
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
 * deepkern against PyTorch (CPU, via the JavaCPP presets), value and autograd gradient, f32 and
 * bf16: the same parameters through an implementation written by other people. torch's answers
 * are first checked against the double reference of ActivationCase ({@link Oracle}: a wrong one
 * skips the case, loudly); deepkern is asserted against that reference either way.
 */
class ActivationTorchTest {
    static final int N = 4097;

    static Stream<Arguments> cases(List<ActivationCase> cases) {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (ActivationCase c : cases) out.add(Arguments.of(d, t, c));
        });
        return out.stream();
    }

    static Stream<Arguments> activations() {
        return cases(ActivationCase.ALL);
    }

    static Stream<Arguments> gates() {
        return cases(ActivationCase.gates());
    }

    /**
     * The switch points, then N(0, 3^2) with one in eight of magnitude up to 1e4, and signed zeros;
     * not the dtype's extremes, where torch's own f32 formulas overflow to inf * 0.
     */
    static float[] inputs(ActivationCase c, int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            int kind = rng.nextInt(16);
            x[i] = kind < 13 ? (float) (3 * rng.nextGaussian())
                    : kind < 15 ? (float) ((rng.nextBoolean() ? 1 : -1) * Math.pow(10, 4 * rng.nextDouble()))
                    : rng.nextBoolean() ? 0f : -0f;
        }
        float[] sp = c.specialInputs();
        System.arraycopy(sp, 0, x, 0, Math.min(n, sp.length));
        return x;
    }

    /**
     * f32: 1e-5 relative, and an absolute 1e-6 (1 + |x|) per unit of output gradient: torch's f32
     * formulas subtract (0.5 x (1 + erf), 1 + tanh, 1 - s), which in a function's negative tail
     * leaves an absolute error of an f32 ulp of 1 times |x|, far above the value there.
     * bf16: two units in the last place, since torch rounds each intermediate of a composed op
     * (quick_gelu, a gated unit) and of its autograd graph to bf16 where deepkern rounds once.
     */
    static double rtol(DType dtype) {
        return dtype == DType.F32 ? 1e-5 : Math.scalb(1.0, -6);
    }

    static double atol(DType dtype) {
        return dtype == DType.F32 ? 1e-6 : Math.scalb(1.0, -8);
    }

    private static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    private static void agree(float[] torch, float[] ours, double rtol, IntToDoubleFunction atol, String what) {
        Close.assertClose(doubles(torch), ours, rtol, atol, what + " vs torch");
    }

    /** deepkern against the double reference, at the tolerances of the activation tests (ActivationChecks). */
    private static void exact(double[] ref, float[] ours, DType dtype, IntToDoubleFunction extra, String what) {
        for (int i = 0; i < ref.length; i++) ref[i] = ActivationChecks.saturate(dtype, ref[i]);
        Close.assertClose(ref, ours, ActivationChecks.rtol(dtype), i -> ActivationChecks.atol(dtype) + extra.applyAsDouble(i),
                what + " vs the double reference");
    }

    /**
     * torch against the double reference, at twice the tolerance deepkern is held to against torch
     * plus the dtype's floor (where the exact value is below what f32 can hold, torch gives 0).
     */
    private static void vet(Oracle torch, DType dtype, double[] ref, float[] answer, double rtol, IntToDoubleFunction atol,
                            String what) {
        double floor = ActivationChecks.atol(dtype);
        torch.vet("torch " + what, ref, answer, 2 * rtol, i -> 2 * atol.applyAsDouble(i) + floor);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("activations")
    void activation(Device device, DType dtype, ActivationCase c) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(device, dtype, inputs(c, N, 7), N);
            Tensor g = tensor(device, dtype, ActivationCase.normal(N, 8), N);
            float[] xs = x.toFloatArray(), gs = g.toFloatArray();
            Torch.Result t = Torch.activation(c.act(), xs, gs, dtype);
            String what = c + " " + dtype + " on " + device;
            double r = rtol(dtype), a = atol(dtype);
            IntToDoubleFunction valueTol = i -> a * (1 + Math.abs(xs[i])), gradTol = i -> valueTol.applyAsDouble(i) * Math.abs(gs[i]);
            double[] value = new double[N], grad = new double[N];
            for (int i = 0; i < N; i++) {
                value[i] = c.f().applyAsDouble(xs[i]);
                grad[i] = gs[i] * c.df().applyAsDouble(xs[i]);
            }
            Oracle torch = Oracle.torch();
            vet(torch, dtype, value, t.value(), r, valueTol, what + " value");
            if (t.grads()[0] != null) vet(torch, dtype, grad, t.grads()[0], r, gradTol, what + " gradient");
            float[] y = F.activation(c.act(), x).toFloatArray(), dx = F.activationBackward(c.act(), x, g).toFloatArray();
            exact(value, y, dtype, i -> 0, what + " value");
            exact(grad, dx, dtype, i -> ActivationChecks.GRAD_ATOL * Math.abs(gs[i]), what + " gradient");
            torch.judge(() -> {
                agree(t.value(), y, r, valueTol, what + " value");
                if (t.grads()[0] != null) agree(t.grads()[0], dx, r, gradTol, what + " gradient");
            });
        }
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("gates")
    void gated(Device device, DType dtype, ActivationCase c) {
        try (Scope s = Scope.open()) {
            Tensor gate = tensor(device, dtype, inputs(c, N, 9), N);
            Tensor up = tensor(device, dtype, ActivationCase.normal(N, 10), N);
            Tensor g = tensor(device, dtype, ActivationCase.normal(N, 11), N);
            float[] gv = gate.toFloatArray(), uv = up.toFloatArray(), gs = g.toFloatArray();
            Torch.Result t = Torch.gated(c.act(), gv, uv, gs, dtype);
            GatedGrads grads = F.gatedBackward(c.act(), gate, up, g);
            float[] y = F.gated(c.act(), gate, up).toFloatArray(), dg = grads.gate().toFloatArray(), du = grads.up().toFloatArray();
            String what = c + " gated " + dtype + " on " + device;
            double r = rtol(dtype), a = atol(dtype);
            IntToDoubleFunction scale = i -> a * (1 + Math.abs(gv[i])) * Math.abs(uv[i]);
            IntToDoubleFunction gateTol = i -> scale.applyAsDouble(i) * Math.abs(gs[i]);
            IntToDoubleFunction upTol = i -> a * (1 + Math.abs(gv[i])) * Math.abs(gs[i]);
            double[] value = new double[N], gradGate = new double[N], gradUp = new double[N];
            for (int i = 0; i < N; i++) {
                double f = c.f().applyAsDouble(gv[i]);
                value[i] = uv[i] * f;
                gradGate[i] = gs[i] * uv[i] * c.df().applyAsDouble(gv[i]);
                gradUp[i] = gs[i] * f;
            }
            Oracle torch = Oracle.torch();
            vet(torch, dtype, value, t.value(), r, scale, what + " value");
            vet(torch, dtype, gradGate, t.grads()[0], r, gateTol, what + " gradient of gate");
            vet(torch, dtype, gradUp, t.grads()[1], r, upTol, what + " gradient of up");
            // deepkern rounds act(gate) to the dtype neither here nor in the product: one rounding at the end
            exact(value, y, dtype, i -> 0, what + " value");
            exact(gradGate, dg, dtype, i -> ActivationChecks.GRAD_ATOL * Math.abs(gs[i] * uv[i]), what + " gradient of gate");
            exact(gradUp, du, dtype, i -> 0, what + " gradient of up");
            torch.judge(() -> {
                agree(t.value(), y, r, scale, what + " value");
                agree(t.grads()[0], dg, r, gateTol, what + " gradient of gate");
                agree(t.grads()[1], du, r, upTol, what + " gradient of up");
            });
        }
    }

    /** torch's own glu, on the split form [first half | second half] with an odd half (17). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("gluCases")
    void gluSplitForm(Device device, DType dtype) {
        try (Scope s = Scope.open()) {
            long rows = 241, cols = 34;
            Tensor x = tensor(device, dtype, inputs(ActivationCase.named("sigmoid"), (int) (rows * cols), 12), rows, cols);
            Tensor g = tensor(device, dtype, ActivationCase.normal((int) (rows * cols / 2), 13), rows, cols / 2);
            float[] xs = x.toFloatArray(), gs = g.toFloatArray();
            Torch.Result t = Torch.glu(xs, rows, cols, gs, dtype);
            double r = rtol(dtype), a = atol(dtype);
            long h = cols / 2;  // output i = (k, j) takes up x[k, j] and gate x[k, h + j]
            IntToDoubleFunction up = i -> xs[(int) (i / h * cols + i % h)], gate = i -> xs[(int) (i / h * cols + h + i % h)];
            IntToDoubleFunction outOf = i -> (i / cols) * h + i % cols % h;  // the output element x[i] feeds
            IntToDoubleFunction valueTol = i -> a * (1 + Math.abs(gate.applyAsDouble(i))) * Math.abs(up.applyAsDouble(i));
            IntToDoubleFunction gradTol = i -> {
                int o = (int) outOf.applyAsDouble(i);
                return a * (1 + Math.abs(gate.applyAsDouble(o))) * (1 + Math.abs(up.applyAsDouble(o))) * Math.abs(gs[o]);
            };
            double[] value = new double[(int) (rows * h)], grad = new double[xs.length];
            for (int i = 0; i < value.length; i++) {
                double sg = ActivationCase.sigmoid(gate.applyAsDouble(i));
                value[i] = up.applyAsDouble(i) * sg;
                grad[(int) (i / h * cols + i % h)] = gs[i] * sg;  // d/d up
                grad[(int) (i / h * cols + h + i % h)] = gs[i] * up.applyAsDouble(i) * sg * (1 - sg);  // d/d gate
            }
            String what = "glu " + dtype + " on " + device;
            Oracle torch = Oracle.torch();
            vet(torch, dtype, value, t.value(), r, valueTol, what);
            vet(torch, dtype, grad, t.grads()[0], r, gradTol, what + " gradient");
            float[] y = F.glu(x).toFloatArray(), dx = F.gatedBackward(Act.sigmoid(), x, g).toFloatArray();
            exact(value, y, dtype, i -> 0, what);
            exact(grad, dx, dtype, i -> ActivationChecks.GRAD_ATOL * Math.abs(gs[(int) outOf.applyAsDouble(i)])
                    * (1 + Math.abs(up.applyAsDouble((int) outOf.applyAsDouble(i)))), what + " gradient");
            torch.judge(() -> {
                agree(t.value(), y, r, valueTol, what);
                agree(t.grads()[0], dx, r, gradTol, what + " gradient");
            });
        }
    }

    static Stream<Arguments> gluCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16}) out.add(Arguments.of(d, t));
        });
        return out.stream();
    }
}
