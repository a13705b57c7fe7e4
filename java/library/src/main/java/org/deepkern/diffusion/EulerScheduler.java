package org.deepkern.diffusion;

import org.deepkern.DeepKernException;
import org.deepkern.Tensor;

/**
 * Euler and Heun on a sigma grid sigma_0 > ... > sigma_{n-1} > sigma_n = 0, for two families:
 * <ul>
 * <li>{@link #discrete}: diffusers' EulerDiscreteScheduler / HeunDiscreteScheduler (Karras et al.
 * 2022). x = x0 + sigma eps, sigma_i = sigma(t_i) interpolated from the schedule; the model sees
 * x / sqrt(sigma^2 + 1) (a = 1/sqrt(sigma^2 + 1), b = sigma a).</li>
 * <li>{@link #flow}: FlowMatchEulerDiscreteScheduler / FlowMatchHeunDiscreteScheduler (rectified
 * flow). x = (1 - sigma) x0 + sigma eps, the model predicts v = eps - x0 at t = sigma T;
 * sigmas = shift(linspace(1, shift(1/T), n)) (diffusers applies the shift to its sigma_min twice).</li>
 * </ul>
 * Both integrate dx/dsigma = d = (x - x0) / sigma (= eps, resp. = v):
 * <pre>
 *   Euler:  x' = x + (sigma' - sigma) d
 *   Heun:   x~ = x + (sigma' - sigma) d                          (stage 1, keeps d and x)
 *           x' = x + (sigma' - sigma) (d + d(x~, sigma')) / 2    (stage 2, the model at x~, sigma')
 * </pre>
 * Heun's grid repeats each inner sigma (2n - 1 model calls); its last step, to sigma = 0, is Euler.
 */
public final class EulerScheduler extends AbstractScheduler<EulerScheduler> {
    private final NoiseSchedule schedule;  // null for flow matching
    private final double shift;
    private final int trainSteps;
    private boolean heun;
    private NoiseSchedule.Spacing spacing = NoiseSchedule.Spacing.LINSPACE;
    private int stepsOffset;
    private double[] sigmas = new double[0];
    private Tensor sample, derivative;  // Heun's stage-1 state

    private EulerScheduler(NoiseSchedule schedule, int trainSteps, double shift, Prediction prediction) {
        super(prediction);
        this.schedule = schedule;
        this.trainSteps = trainSteps;
        this.shift = shift;
    }

    /** EulerDiscreteScheduler: epsilon prediction, linspace spacing. */
    public static EulerScheduler discrete(NoiseSchedule schedule) {
        return new EulerScheduler(schedule, schedule.trainSteps(), 1, Prediction.EPSILON);
    }

    /** FlowMatchEulerDiscreteScheduler with T train steps and the given shift (1 = none). */
    public static EulerScheduler flow(int trainSteps, double shift) {
        if (trainSteps < 1) throw DeepKernException.invalidArgument("EulerScheduler.flow", "trainSteps", "expected >= 1, got " + trainSteps);
        if (!(shift > 0) || Double.isInfinite(shift))
            throw DeepKernException.invalidArgument("EulerScheduler.flow", "shift", "expected a finite shift > 0, got " + shift);
        return new EulerScheduler(null, trainSteps, shift, Prediction.FLOW);
    }

    /** Heun's second-order method (HeunDiscreteScheduler / FlowMatchHeunDiscreteScheduler). */
    public EulerScheduler heun() {
        heun = true;
        return this;
    }

    /** The timestep spacing of the discrete family. */
    public EulerScheduler spacing(NoiseSchedule.Spacing s, int stepsOffset) {
        spacing = s;
        this.stepsOffset = stepsOffset;
        return this;
    }

    /** The sigma grid, sigma_n = 0 last (Heun's with its repeats). */
    public double[] sigmas() {
        return sigmas.clone();
    }

    @Override
    protected double[] makeTimesteps(int n) {
        double[] ts, s = new double[n + 1];
        if (schedule != null) {
            ts = schedule.timesteps(n, spacing, stepsOffset, false);
            for (int i = 0; i < n; i++) s[i] = schedule.sigmaAt(ts[i]);
        } else {
            if (n < 1 || n > trainSteps)
                throw DeepKernException.invalidArgument(name() + ".setTimesteps", "steps", "expected 1 <= steps <= " + trainSteps + " (the train steps), got " + n);
            double[] lin = NoiseSchedule.linspace(trainSteps, NoiseSchedule.shift(1.0 / trainSteps, shift) * trainSteps, n);
            ts = new double[n];
            for (int i = 0; i < n; i++) {
                s[i] = NoiseSchedule.shift(lin[i] / trainSteps, shift);
                ts[i] = s[i] * trainSteps;
            }
        }
        if (!heun) {
            sigmas = s;
            return ts;
        }
        // [t0, t1, t1, ..., t_{n-1}, t_{n-1}] and [s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0]
        double[] hts = new double[2 * n - 1], hs = new double[2 * n];
        for (int i = 0; i < 2 * n - 1; i++) {
            hts[i] = ts[(i + 1) / 2];
            hs[i] = s[(i + 1) / 2];
        }
        sigmas = hs;
        return hts;
    }

    @Override
    public NoiseLevel level(int i) {
        double s = sigmas[i];
        if (schedule == null) return new NoiseLevel(timesteps[i], 1 - s, s);
        double a = 1 / Math.sqrt(s * s + 1);
        return new NoiseLevel(timesteps[i], a, s * a);
    }

    /** diffusers' init_noise_sigma: the largest sigma, or sqrt(sigma^2 + 1) with leading spacing. */
    @Override
    public double initNoiseSigma() {
        if (schedule == null) return 1;
        double max = 0;
        for (double s : sigmas) max = Math.max(max, s);
        return spacing == NoiseSchedule.Spacing.LEADING ? Math.sqrt(max * max + 1) : max;
    }

    @Override
    public Tensor scaleModelInput(Tensor x, double t) {
        return schedule == null ? x : scaled(x, 1 / Math.sqrt(sigmas[indexFor(t)] * sigmas[indexFor(t)] + 1));
    }

    private int indexFor(double t) {
        for (int i = 0; i < timesteps.length; i++) if (timesteps[i] == t) return i;
        throw DeepKernException.invalidArgument(name() + ".scaleModelInput", "t", t + " is not one of the " + timesteps.length + " timesteps of the schedule");
    }

    @Override
    protected Tensor stepAt(int i, StepInput in) {
        double xScale = schedule == null ? 1 : level(i).a();
        // d = (x - x0) / sigma is eps (discrete: x = x0 + sigma eps) or eps - x0 (flow), formed so,
        // without dividing by a small sigma: d = eps - k x0
        double k = schedule == null ? 1 : 0;
        var c = convert(level(i), xScale);
        if (sample == null) {  // Euler, or Heun's stage 1
            double dt = sigmas[i + 1] - sigmas[i];
            c.out(1, -dt * k, dt);
            if (!heun || sigmas[i + 1] == 0) return launch(c, in, null, null, null);
            Tensor d = Tensor.empty(in.x().shape(), in.x().dtype(), in.x().device());
            try {
                Tensor out = launch(c.out2(0, -k, 1), in, null, null, d);
                sample = in.x().reshape(in.x().shape());
                derivative = d;
                return out;
            } catch (RuntimeException e) {
                d.close();
                throw e;
            }
        }
        // Heun's stage 2 at x~ = x, sigma' = sigmas[i]: x' = sample + dt/2 (d + d(x~))
        double dt = sigmas[i] - sigmas[i - 1];
        c.out(0, -dt / 2 * k, dt / 2).extras(dt / 2, 1);
        try {
            return launch(c, in, derivative, sample, null);
        } finally {
            clearState();
        }
    }

    @Override
    protected void clearState() {
        if (sample != null) sample.close();
        if (derivative != null) derivative.close();
        sample = derivative = null;
    }
}
