package org.deepkern.diffusion;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
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
 * state is checked too (those cases call every step in order: a jump restarts the state).
 *
 * Tolerance f32: rtol 1e-5 plus atol 2e-6 * (the largest |input| of the case): the step forms
 * x0 = (x - b m)/a and d = (x - x0)/sigma in f32, each rounding an intermediate of the size of the
 * inputs (up to ~1/a times them) by 2^-24, which is then scaled back down; an output that nearly
 * cancels keeps that absolute error. bf16: inputs rounded to bf16 (the reference uses the rounded
 * values) and the output rounded once: rtol 2^-8, same atol scaled by 2^16.
 */
class DiffusionStepTest {
    static final NoiseSchedule S = NoiseSchedule.ddpm();
    static final long SEED = 7, OFFSET = 100;
    static final int N = 1003;  // odd: not a multiple of the 4-element packs

    /** A reference step: x, the guided model output m and a noise source give the next x. */
    interface Ref {
        double[] step(int i, double[] ts, double[] x, double[] m, Noise z);
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
                double xScale, double guidance, Ref ref) {
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
        return (i, ts, x, m, noise) -> {
            int t = (int) ts[i], prev = t - 1000 / ts.length;
            double abT = S.alphaBar(t), abP = prev >= 0 ? S.alphaBar(prev) : 1, bT = 1 - abT;
            double std = eta * sq((1 - abP) / bT * (1 - abT / abP));
            double[] z = eta > 0 ? noise.next(x.length) : null, out = new double[x.length];
            for (int k = 0; k < x.length; k++) {
                double x0 = x0Vp(type, abT, x[k], m[k]);
                double eps = switch (type) {
                    case "epsilon" -> m[k];
                    case "sample" -> (x[k] - sq(abT) * x0) / sq(bT);
                    default -> sq(abT) * m[k] + sq(bT) * x[k];
                };
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

    /** Heun on the distinct sigmas (calls 0, 1, 2 = stage 1 of step 0, stage 2 of step 0, stage 1 of step 1). */
    static Ref heun(String type, boolean flow, int n) {
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
                    state[1][k] = flow ? m[k] : (x[k] - x0Euler(type, s, x[k], m[k])) / s;
                    out[k] = x[k] + state[1][k] * (sn - s);
                }
            } else {
                double sp = flow ? flowSigma(n, j - 1) : eulerSigma(distinct(ts), j - 1);
                for (int k = 0; k < x.length; k++) {
                    double d2 = flow ? m[k] : (x[k] - x0Euler(type, s, x[k], m[k])) / s;
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

    /** Reverse VP/VE SDE by Euler-Maruyama, or the probability-flow ODE, t from 1 to eps on n steps. */
    static Ref sde(boolean ve, boolean ode, double sigmaMax) {
        return (i, ts, x, m, noise) -> {
            double eps = ve ? 1e-5 : 1e-3, dt = (1 - eps) / ts.length, t = 1 - i * dt;
            double std, g2, f;
            if (ve) {
                std = 0.01 * Math.pow(sigmaMax / 0.01, t);
                g2 = 2 * std * std * Math.log(sigmaMax / 0.01);  // d sigma^2 / dt
                f = 0;
            } else {
                double beta = 0.1 + t * (20 - 0.1), mean = Math.exp(-0.25 * t * t * (20 - 0.1) - 0.5 * t * 0.1);
                std = sq(1 - mean * mean);
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

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        for (String type : new String[] {"epsilon", "sample", "v_prediction"}) {
            Prediction p = Prediction.parse(type);
            c.add(new Case("ddpm fixed_small " + type, () -> new DdpmScheduler(S).prediction(p), 10, new int[] {0, 4, 9}, 1, 1, ddpm(type, false, 0)));
            c.add(new Case("ddim eta 0.5 " + type, () -> new DdimScheduler(S).eta(0.5).prediction(p), 20, new int[] {0, 7, 19}, 1, 1, ddim(type, 0.5, 0)));
        }
        c.add(new Case("ddpm fixed_large clip 1, cfg 7.5", () -> new DdpmScheduler(S).variance(DdpmScheduler.Variance.FIXED_LARGE).clip(1), 50,
                new int[] {0, 25, 49}, 1, 7.5, ddpm("epsilon", true, 1)));
        c.add(new Case("ddpm v clip 0.5", () -> new DdpmScheduler(S).prediction(Prediction.V_PREDICTION).clip(0.5), 10, new int[] {1, 2}, 1, 1, ddpm("v_prediction", false, 0.5)));
        c.add(new Case("ddim eta 0 clip 1, cfg 3", () -> new DdimScheduler(S).clip(1), 50, new int[] {0, 1, 49}, 1, 3, ddim("epsilon", 0, 1)));
        c.add(new Case("ddim eta 1", () -> new DdimScheduler(S).eta(1), 10, new int[] {0, 5, 9}, 1, 1, ddim("epsilon", 1, 0)));
        c.add(new Case("euler epsilon", () -> EulerScheduler.discrete(S), 30, new int[] {0, 1, 29}, 10, 1, euler("epsilon")));
        c.add(new Case("euler v, cfg 2", () -> EulerScheduler.discrete(S).prediction(Prediction.V_PREDICTION), 30, new int[] {0, 15, 29}, 10, 2, euler("v_prediction")));
        c.add(new Case("heun epsilon", () -> EulerScheduler.discrete(S).heun(), 4, new int[] {0, 1, 2, 3, 4, 5, 6}, 10, 1, heun("epsilon", false, 4)));
        c.add(new Case("flow euler", () -> EulerScheduler.flow(1000, 1), 25, new int[] {0, 12, 24}, 1, 1, flowEuler(25)));
        c.add(new Case("flow heun, cfg 4", () -> EulerScheduler.flow(1000, 1).heun(), 4, new int[] {0, 1, 2, 3, 4, 5, 6}, 1, 4, heun("flow", true, 4)));
        c.add(new Case("dpm++2m", () -> new DpmSolverScheduler(S), 6, new int[] {0, 1, 2, 3, 4, 5}, 1, 1, dpm()));
        c.add(new Case("em vp", ScoreSdeScheduler::vp, 40, new int[] {0, 20, 39}, 1, 1, sde(false, false, 0)));
        c.add(new Case("ode vp", () -> ScoreSdeScheduler.vp().probabilityFlow(), 40, new int[] {0, 20, 39}, 1, 1, sde(false, true, 0)));
        c.add(new Case("em ve sigma_max 20", () -> ScoreSdeScheduler.ve(20), 40, new int[] {0, 20, 39}, 5, 1, sde(true, false, 20)));
        return c.stream();
    }

    static Stream<Arguments> devicesAndCases() {
        return TestDevices.host().flatMap(d -> cases().map(c -> Arguments.of(d, c)));
    }

    @ParameterizedTest(name = "{0} {1} f32")
    @MethodSource("devicesAndCases")
    void f32(Device device, Case c) {
        run(device, DType.F32, c, 1e-5, 2e-6);
    }

    static Stream<Arguments> bf16Cases() {
        return TestDevices.host().flatMap(d -> cases().filter(c -> c.name().startsWith("ddim eta 0.5 e") || c.name().startsWith("dpm")
                || c.name().startsWith("flow heun")).map(c -> Arguments.of(d, c)));
    }

    @ParameterizedTest(name = "{0} {1} bf16")
    @MethodSource("bf16Cases")
    void bf16(Device device, Case c) {
        run(device, DType.BF16, c, 1.0 / 256, 2e-6 * 65536);
    }

    static void run(Device device, DType dtype, Case c, double rtol, double atolPerInput) {
        AbstractScheduler<?> s = c.scheduler().get();
        s.setTimesteps(c.steps());
        s.generator(SEED, OFFSET);
        double[] ts = s.timesteps();
        Random r = new Random(c.name().hashCode());
        Noise noise = new Noise();
        try (Scope scope = Scope.open()) {
            Tensor x = input(device, dtype, r, c.xScale());
            for (int i : c.calls()) {
                Tensor cond = input(device, dtype, r, 1), uncond = c.guidance() == 1 ? null : input(device, dtype, r, 1);
                double[] xd = doubles(x), md = doubles(cond);
                double scale = c.xScale();
                if (uncond != null) {
                    double[] u = doubles(uncond);
                    for (int k = 0; k < md.length; k++) md[k] = u[k] + c.guidance() * (md[k] - u[k]);
                    scale = Math.max(scale, c.guidance());
                }
                double[] ref = c.ref().step(i, ts, xd, md, noise);
                Tensor out = s.step(cond, uncond, c.guidance(), ts[i], x);
                double atol = atolPerInput * 4 * Math.max(scale, 1);
                Close.assertClose(ref, out.toFloatArray(), rtol, atol, c.name() + " call " + i + " on " + device);
                x = out;
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
