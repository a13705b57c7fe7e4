package org.deepkern.diffusion;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.Philox;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every scheduler's step on cpu and emu against a double reference written from the published
 * step formulas (diffusers' schedulers, Song et al.'s SDEs), not from the coefficient code: random
 * x and model outputs (with CFG in some cases), the reference drawing the same noise with
 * testing/Philox. Consecutive steps feed the kernel's output back, so multistep / second-order
 * state is checked too (those cases call every step in order: a jump restarts the state). Both
 * outputs are checked: prevSample, and predOriginalSample against the case's x0 formula (clamped
 * when the case clips: DDPM and DDIM by default, as diffusers).
 *
 * Tolerance f32: rtol 1e-5 plus atol 2e-6 * (the largest |input| of the case): the step forms
 * x0 = (x - b m)/a and d = (x - x0)/sigma in f32, each rounding an intermediate of the size of the
 * inputs (up to ~1/a times them) by 2^-24, which is then scaled back down; an output that nearly
 * cancels keeps that absolute error. bf16: inputs rounded to bf16 (the reference uses the rounded
 * values) and the output rounded once: rtol 2^-8, same atol scaled by 2^16.
 *
 * x0 = cx x + cm m can be far larger than the inputs (1/a ~ 150 early on) and cancel; its error
 * is a few roundings of the terms, so element k gets atol 1e-6 (|cx x_k| + |cm| M_k), M_k the size
 * of the guided m before cancellation (|m|, or |u| + g (|c| + |u|) with guidance). bf16: 2^-8 of
 * the same, as Heun's stage 1 forms x0 = x - sigma d from the derivative d stored in bf16.
 */
class DiffusionStepTest {
    static final NoiseSchedule S = NoiseSchedule.ddpm();
    static final long SEED = 7, OFFSET = 100;
    static final int N = 1003;  // odd: not a multiple of the 4-element packs

    /** A reference step: x, the guided model output m and a noise source give the next x. */
    interface Ref {
        double[] step(int i, double[] ts, double[] x, double[] m, Noise z);
    }

    /** The reference x0 of the i-th call before any clamp: linear in x and m. */
    interface X0 {
        double at(int i, double[] ts, double x, double m);
    }

    /** The Philox stream as the scheduler consumes it: each noisy step takes the next ceil(n/4) counters. */
    static final class Noise {
        long offset = OFFSET;

        double[] next(int n) {
            double[] z = new double[n];
            for (int i = 0; i < n; i++) z[i] = Philox.normal(SEED, offset, i);
            offset += (n + 3) / 4;
            return z;
        }
    }

    record Case(String name, java.util.function.Supplier<AbstractScheduler<?>> scheduler, int steps, int[] calls,
                double xScale, double guidance, Ref ref, X0 x0, double clip) {
        @Override
        public String toString() {
            return name;
        }
    }

    static double sq(double v) {
        return Math.sqrt(v);
    }

    // ---- references, from the schedulers' published step formulas ----

    static double x0Vp(String type, double ab, double x, double m) {
        return switch (type) {
            case "epsilon" -> (x - sq(1 - ab) * m) / sq(ab);
            case "sample" -> m;
            default -> sq(ab) * x - sq(1 - ab) * m;  // v_prediction
        };
    }

    static double clamp(double v, double clip) {
        return clip > 0 ? Math.max(-clip, Math.min(clip, v)) : v;
    }

    static Ref ddpm(String type, boolean large, double clip) {
        return (i, ts, x, m, noise) -> {
            int t = (int) ts[i], prev = i + 1 < ts.length ? (int) ts[i + 1] : -1;
            double abT = S.alphaBar(t), abP = prev >= 0 ? S.alphaBar(prev) : 1, bT = 1 - abT, bP = 1 - abP;
            double curA = abT / abP, curB = 1 - curA;
            double var = large ? curB : Math.max(bP / bT * curB, 1e-20);
            double[] z = t > 0 ? noise.next(x.length) : null, out = new double[x.length];
            for (int k = 0; k < x.length; k++) {
                double x0 = clamp(x0Vp(type, abT, x[k], m[k]), clip);
                out[k] = sq(abP) * curB / bT * x0 + sq(curA) * bP / bT * x[k] + (z == null ? 0 : sq(var) * z[k]);
            }
            return out;
        };
    }

    static Ref ddim(String type, double eta, double clip) {
        return ddim(type, eta, clip, false, 1);
    }

    /** clippedEps: eps from the clipped x0 (use_clipped_model_output); finalAb: alpha_bar after t = 0. */
    static Ref ddim(String type, double eta, double clip, boolean clippedEps, double finalAb) {
        return (i, ts, x, m, noise) -> {
            int t = (int) ts[i], prev = t - 1000 / ts.length;
            double abT = S.alphaBar(t), abP = prev >= 0 ? S.alphaBar(prev) : finalAb, bT = 1 - abT;
            double std = eta * sq((1 - abP) / bT * (1 - abT / abP));
            double[] z = eta > 0 ? noise.next(x.length) : null, out = new double[x.length];
            for (int k = 0; k < x.length; k++) {
                double x0 = x0Vp(type, abT, x[k], m[k]);
                double eps = switch (type) {
                    case "epsilon" -> m[k];
                    case "sample" -> (x[k] - sq(abT) * x0) / sq(bT);
                    default -> sq(abT) * m[k] + sq(bT) * x[k];
                };
                if (clippedEps) eps = (x[k] - sq(abT) * clamp(x0, clip)) / sq(bT);
                out[k] = sq(abP) * clamp(x0, clip) + sq(1 - abP - std * std) * eps + (z == null ? 0 : std * z[k]);
            }
            return out;
        };
    }

    /** EulerDiscrete's sigmas: sigma_t = sqrt((1 - ab)/ab) at linspace(0, 999, n) reversed, interpolated; then 0. */
    static double eulerSigma(double[] ts, int i) {
        if (i >= ts.length) return 0;
        int lo = (int) Math.floor(ts[i]);
        double f = ts[i] - lo, s0 = sq((1 - S.alphaBar(lo)) / S.alphaBar(lo));
        if (f == 0) return s0;
        return (1 - f) * s0 + f * sq((1 - S.alphaBar(lo + 1)) / S.alphaBar(lo + 1));
    }

    static double x0Euler(String type, double s, double x, double m) {
        return type.equals("epsilon") ? x - s * m : m * (-s / sq(s * s + 1)) + x / (s * s + 1);
    }

    static Ref euler(String type) {
        return (i, ts, x, m, noise) -> {
            double s = eulerSigma(ts, i), sn = eulerSigma(ts, i + 1);
            double[] out = new double[x.length];
            for (int k = 0; k < x.length; k++) out[k] = x[k] + (x[k] - x0Euler(type, s, x[k], m[k])) / s * (sn - s);
            return out;
        };
    }

    /**
     * Heun on the distinct sigmas (calls 0, 1, 2 = stage 1 of step 0, stage 2 of step 0, stage 1 of
     * step 1); d = (x - x0) / sigma from the clamped x0 when clip &gt; 0 (HeunDiscreteScheduler).
     */
    static Ref heun(String type, boolean flow, int n, double clip) {
        double[][] state = new double[2][];  // sample, derivative
        return (i, ts, x, m, noise) -> {
            int j = (i + 1) / 2;  // the distinct step
            double s = flow ? flowSigma(n, j) : eulerSigma(distinct(ts), j);
            double[] out = new double[x.length];
            if (i % 2 == 0) {
                double sn = flow ? flowSigma(n, j + 1) : eulerSigma(distinct(ts), j + 1);
                state[0] = x.clone();
                state[1] = new double[x.length];
                for (int k = 0; k < x.length; k++) {
                    state[1][k] = flow ? m[k] : (x[k] - clamp(x0Euler(type, s, x[k], m[k]), clip)) / s;
                    out[k] = x[k] + state[1][k] * (sn - s);
                }
            } else {
                double sp = flow ? flowSigma(n, j - 1) : eulerSigma(distinct(ts), j - 1);
                for (int k = 0; k < x.length; k++) {
                    double d2 = flow ? m[k] : (x[k] - clamp(x0Euler(type, s, x[k], m[k]), clip)) / s;
                    out[k] = state[0][k] + (state[1][k] + d2) / 2 * (s - sp);
                }
            }
            return out;
        };
    }

    static double[] distinct(double[] heunTs) {
        double[] d = new double[(heunTs.length + 1) / 2];
        for (int j = 0; j < d.length; j++) d[j] = heunTs[Math.max(0, 2 * j - 1)];
        return d;
    }

    /** FlowMatchEuler's sigmas (shift 1): linspace(1, 1/T, n), then 0. */
    static double flowSigma(int n, int i) {
        return i >= n ? 0 : 1 + i * ((1.0 / 1000 - 1) / (n - 1));
    }

    static Ref flowEuler(int n) {
        return (i, ts, x, m, noise) -> {
            double[] out = new double[x.length];
            for (int k = 0; k < x.length; k++) out[k] = x[k] + (flowSigma(n, i + 1) - flowSigma(n, i)) * m[k];
            return out;
        };
    }

    /** DPM-Solver++(2M): alpha = sqrt(ab), sigma = sqrt(1 - ab), lambda = log(alpha/sigma), data predictions D. */
    static Ref dpm() {
        double[][] prevD = new double[1][];
        return (i, ts, x, m, noise) -> {
            int t = (int) ts[i];
            double aS = sq(S.alphaBar(t)), sS = sq(1 - S.alphaBar(t));
            double[] d = new double[x.length], out = new double[x.length];
            for (int k = 0; k < x.length; k++) d[k] = (x[k] - sS * m[k]) / aS;
            if (i == ts.length - 1) return d;
            int tn = (int) ts[i + 1];
            double aT = sq(S.alphaBar(tn)), sT = sq(1 - S.alphaBar(tn));
            double h = Math.log(aT / sT) - Math.log(aS / sS);
            for (int k = 0; k < x.length; k++) {
                out[k] = sT / sS * x[k] - aT * (Math.exp(-h) - 1) * d[k];
                if (prevD[0] != null) {
                    int tp = (int) ts[i - 1];
                    double h0 = Math.log(aS / sS) - Math.log(sq(S.alphaBar(tp)) / sq(1 - S.alphaBar(tp)));
                    out[k] -= 0.5 * aT * (Math.exp(-h) - 1) * (d[k] - prevD[0][k]) / (h0 / h);
                }
            }
            prevD[0] = d;
            return out;
        };
    }

    /** The SDE's perturbation kernel at t: x = mean x0 + std eps. */
    static double[] sdeMeanStd(boolean ve, double sigmaMax, double t) {
        if (ve) return new double[] {1, 0.01 * Math.pow(sigmaMax / 0.01, t)};
        double mean = Math.exp(-0.25 * t * t * (20 - 0.1) - 0.5 * t * 0.1);
        return new double[] {mean, sq(1 - mean * mean)};
    }

    /** The i-th of n uniform times from 1 down to the SDE's eps. */
    static double sdeTime(boolean ve, int n, int i) {
        return 1 - i * (1 - (ve ? 1e-5 : 1e-3)) / n;
    }

    /** Reverse VP/VE SDE by Euler-Maruyama, or the probability-flow ODE, t from 1 to eps on n steps. */
    static Ref sde(boolean ve, boolean ode, double sigmaMax) {
        return (i, ts, x, m, noise) -> {
            double t = sdeTime(ve, ts.length, i), dt = t - sdeTime(ve, ts.length, i + 1);
            double std = sdeMeanStd(ve, sigmaMax, t)[1], g2, f;
            if (ve) {
                g2 = 2 * std * std * Math.log(sigmaMax / 0.01);  // d sigma^2 / dt
                f = 0;
            } else {
                double beta = 0.1 + t * (20 - 0.1);
                g2 = beta;
                f = -0.5 * beta;
            }
            double[] z = !ode && i < ts.length - 1 ? noise.next(x.length) : null, out = new double[x.length];
            for (int k = 0; k < x.length; k++) {
                double score = -m[k] / std;
                out[k] = x[k] - (f * x[k] - (ode ? 0.5 : 1) * g2 * score) * dt + (z == null ? 0 : sq(g2 * dt) * z[k]);
            }
            return out;
        };
    }

    // ---- x0 of each call (diffusers' pred_original_sample), unclamped ----

    static X0 vpX0(String type) {
        return (i, ts, x, m) -> x0Vp(type, S.alphaBar((int) ts[i]), x, m);
    }

    static X0 eulerX0(String type) {
        return (i, ts, x, m) -> x0Euler(type, eulerSigma(ts, i), x, m);
    }

    /** Flow matching: x = (1 - sigma) x0 + sigma eps and v = eps - x0, so x0 = x - sigma v. */
    static X0 flowX0(int n, boolean heun) {
        return (i, ts, x, m) -> x - flowSigma(n, heun ? (i + 1) / 2 : i) * m;
    }

    static X0 sdeX0(boolean ve, double sigmaMax) {
        return (i, ts, x, m) -> {
            double[] ms = sdeMeanStd(ve, sigmaMax, sdeTime(ve, ts.length, i));
            return (x - ms[1] * m) / ms[0];
        };
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        for (String type : new String[] {"epsilon", "sample", "v_prediction"}) {
            Prediction p = Prediction.parse(type);
            c.add(new Case("ddpm fixed_small " + type + ", no clip", () -> new DdpmScheduler(S).clipSample(false).prediction(p), 10,
                    new int[] {0, 4, 9}, 1, 1, ddpm(type, false, 0), vpX0(type), 0));
            c.add(new Case("ddim eta 0.5 " + type + ", no clip", () -> new DdimScheduler(S).eta(0.5).clipSample(false).prediction(p), 20,
                    new int[] {0, 7, 19}, 1, 1, ddim(type, 0.5, 0), vpX0(type), 0));
        }
        c.add(new Case("ddpm fixed_large default clip, cfg 7.5", () -> new DdpmScheduler(S).variance(DdpmScheduler.Variance.FIXED_LARGE), 50,
                new int[] {0, 25, 49}, 1, 7.5, ddpm("epsilon", true, 1), vpX0("epsilon"), 1));
        c.add(new Case("ddpm v clip 0.5", () -> new DdpmScheduler(S).prediction(Prediction.V_PREDICTION).clipSampleRange(0.5), 10,
                new int[] {1, 2}, 1, 1, ddpm("v_prediction", false, 0.5), vpX0("v_prediction"), 0.5));
        c.add(new Case("ddim eta 0 default clip, cfg 3", () -> new DdimScheduler(S), 50, new int[] {0, 1, 49}, 1, 3,
                ddim("epsilon", 0, 1), vpX0("epsilon"), 1));
        c.add(new Case("ddim set_alpha_to_one off, steps_offset 1, use_clipped_model_output",
                () -> new DdimScheduler(S).setAlphaToOne(false).spacing(NoiseSchedule.Spacing.LEADING, 1).useClippedModelOutput(true), 50,
                new int[] {0, 25, 49}, 1, 1, ddim("epsilon", 0, 1, true, S.alphaBar(0)), vpX0("epsilon"), 1));
        c.add(new Case("ddim eta 1, no clip", () -> new DdimScheduler(S).eta(1).clipSample(false), 10, new int[] {0, 5, 9}, 1, 1,
                ddim("epsilon", 1, 0), vpX0("epsilon"), 0));
        c.add(new Case("euler epsilon", () -> EulerScheduler.discrete(S), 30, new int[] {0, 1, 29}, 10, 1, euler("epsilon"),
                eulerX0("epsilon"), 0));
        c.add(new Case("euler v, cfg 2", () -> EulerScheduler.discrete(S).prediction(Prediction.V_PREDICTION), 30, new int[] {0, 15, 29}, 10, 2,
                euler("v_prediction"), eulerX0("v_prediction"), 0));
        c.add(new Case("heun epsilon", () -> EulerScheduler.discrete(S).heun(), 4, new int[] {0, 1, 2, 3, 4, 5, 6}, 10, 1,
                heun("epsilon", false, 4, 0), eulerX0("epsilon"), 0));
        c.add(new Case("heun epsilon clip 1", () -> EulerScheduler.discrete(S).heun().clipSample(true), 4, new int[] {0, 1, 2, 3, 4, 5, 6}, 10, 1,
                heun("epsilon", false, 4, 1), eulerX0("epsilon"), 1));
        c.add(new Case("flow euler", () -> EulerScheduler.flow(1000, 1), 25, new int[] {0, 12, 24}, 1, 1, flowEuler(25), flowX0(25, false), 0));
        c.add(new Case("flow heun, cfg 4", () -> EulerScheduler.flow(1000, 1).heun(), 4, new int[] {0, 1, 2, 3, 4, 5, 6}, 1, 4,
                heun("flow", true, 4, 0), flowX0(4, true), 0));
        c.add(new Case("dpm++2m", () -> new DpmSolverScheduler(S), 6, new int[] {0, 1, 2, 3, 4, 5}, 1, 1, dpm(), vpX0("epsilon"), 0));
        c.add(new Case("em vp", ScoreSdeScheduler::vp, 40, new int[] {0, 20, 39}, 1, 1, sde(false, false, 0), sdeX0(false, 0), 0));
        c.add(new Case("ode vp", () -> ScoreSdeScheduler.vp().probabilityFlow(), 40, new int[] {0, 20, 39}, 1, 1, sde(false, true, 0),
                sdeX0(false, 0), 0));
        c.add(new Case("em ve sigma_max 20", () -> ScoreSdeScheduler.ve(20), 40, new int[] {0, 20, 39}, 5, 1, sde(true, false, 20),
                sdeX0(true, 20), 0));
        return c.stream();
    }

    static Stream<Arguments> devicesAndCases() {
        return TestDevices.host().flatMap(d -> cases().map(c -> Arguments.of(d, c)));
    }

    @ParameterizedTest(name = "{0} {1} f32")
    @MethodSource("devicesAndCases")
    void f32(Device device, Case c) {
        run(device, DType.F32, c, 1e-5, 2e-6, 1e-6);
    }

    static Stream<Arguments> bf16Cases() {
        return TestDevices.host().flatMap(d -> cases().filter(c -> c.name().startsWith("ddim eta 0.5 e") || c.name().startsWith("dpm")
                || c.name().startsWith("flow heun")).map(c -> Arguments.of(d, c)));
    }

    @ParameterizedTest(name = "{0} {1} bf16")
    @MethodSource("bf16Cases")
    void bf16(Device device, Case c) {
        run(device, DType.BF16, c, 1.0 / 256, 2e-6 * 65536, 1.0 / 256);
    }

    /** A generator at counter OFFSET: advanced by a draw of 4 OFFSET normals. */
    static Generator generatorAtOffset() {
        Generator g = new Generator(SEED);
        Tensor.randn(new long[] {4 * OFFSET}, DType.F32, Device.CPU, g).close();
        return g;
    }

    static void run(Device device, DType dtype, Case c, double rtol, double atolPerInput, double x0Tol) {
        AbstractScheduler<?> s = c.scheduler().get();
        s.setTimesteps(c.steps());
        s.generator(generatorAtOffset());
        double[] ts = s.timesteps();
        Random r = new Random(c.name().hashCode());
        Noise noise = new Noise();
        try (Scope scope = Scope.open()) {
            Tensor x = input(device, dtype, r, c.xScale());
            for (int i : c.calls()) {
                Tensor cond = input(device, dtype, r, 1), uncond = c.guidance() == 1 ? null : input(device, dtype, r, 1);
                double[] xd = doubles(x), md = doubles(cond), mSize = new double[N];
                for (int k = 0; k < N; k++) mSize[k] = Math.abs(md[k]);
                double scale = c.xScale();
                if (uncond != null) {
                    double[] u = doubles(uncond);
                    for (int k = 0; k < md.length; k++) {
                        mSize[k] = Math.abs(u[k]) + c.guidance() * (Math.abs(md[k]) + Math.abs(u[k]));
                        md[k] = u[k] + c.guidance() * (md[k] - u[k]);
                    }
                    scale = Math.max(scale, c.guidance());
                }
                double[] ref = c.ref().step(i, ts, xd, md, noise), x0 = new double[N], x0Atol = new double[N];
                for (int k = 0; k < N; k++) {
                    x0[k] = clamp(c.x0().at(i, ts, xd[k], md[k]), c.clip());
                    x0Atol[k] = x0Tol * (Math.abs(c.x0().at(i, ts, xd[k], 0)) + Math.abs(c.x0().at(i, ts, 0, mSize[k])));
                }
                SchedulerOutput out = s.step(cond, uncond, c.guidance(), ts[i], x);
                double atol = atolPerInput * 4 * Math.max(scale, 1);
                String what = c.name() + " call " + i + " on " + device;
                Close.assertClose(ref, out.prevSample().toFloatArray(), rtol, atol, what + ": prevSample");
                Close.assertClose(x0, out.predOriginalSample().toFloatArray(), rtol, k -> x0Atol[k], what + ": predOriginalSample");
                x = out.prevSample();
            }
        }
    }

    static Tensor input(Device device, DType dtype, Random r, double scale) {
        float[] v = new float[N];
        for (int k = 0; k < N; k++) v[k] = (float) (scale * r.nextGaussian());
        Tensor t = Tensor.of(v, new long[] {N}, device);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    static double[] doubles(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int k = 0; k < f.length; k++) d[k] = f[k];
        return d;
    }
}
