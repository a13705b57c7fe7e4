package org.deepkern.diffusion;

import org.deepkern.DeepKernException;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Diffusion;
import org.deepkern.ops.StepCoefs;

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
 * With {@link #clipSample} on, d is formed from the clipped x0 (diffusers' HeunDiscreteScheduler).
 * Defaults, diffusers': epsilon (discrete) or flow prediction, linspace spacing with steps_offset 0,
 * linear interpolation, final sigma 0, no clipping (HeunDiscreteScheduler's clip_sample is off,
 * EulerDiscreteScheduler has none), s_churn 0. Not supported: Karras / exponential / beta sigmas,
 * s_churn &gt; 0, flow matching's dynamic shifting.
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
        super(prediction, false);
        this.schedule = schedule;
        this.trainSteps = trainSteps;
        this.shift = shift;
    }

    /**
     * @param schedule the training noise schedule
     * @return EulerDiscreteScheduler: epsilon prediction, linspace spacing
     */
    public static EulerScheduler discrete(NoiseSchedule schedule) {
        return new EulerScheduler(schedule, schedule.trainSteps(), 1, Prediction.EPSILON);
    }

    /**
     * @param trainSteps T, diffusers' num_train_timesteps (default 1000)
     * @param shift the sigma shift, diffusers' default 1 (none)
     * @return FlowMatchEulerDiscreteScheduler
     */
    public static EulerScheduler flow(int trainSteps, double shift) {
        if (trainSteps < 1) throw DeepKernException.invalidArgument("EulerScheduler.flow", "trainSteps", "expected >= 1, got " + trainSteps);
        if (!(shift > 0) || Double.isInfinite(shift))
            throw DeepKernException.invalidArgument("EulerScheduler.flow", "shift", "expected a finite shift > 0, got " + shift);
        return new EulerScheduler(null, trainSteps, shift, Prediction.FLOW);
    }

    /** @return this scheduler, as Heun's second-order method (HeunDiscreteScheduler / FlowMatchHeunDiscreteScheduler) */
    public EulerScheduler heun() {
        heun = true;
        return this;
    }

    /**
     * @param s the timestep spacing of the discrete family (diffusers' timestep_spacing)
     * @param stepsOffset diffusers' steps_offset (added to leading timesteps)
     * @return this scheduler
     */
    public EulerScheduler spacing(NoiseSchedule.Spacing s, int stepsOffset) {
        if (s == null) throw DeepKernException.invalidArgument(name() + ".spacing", "spacing", "expected linspace, leading or trailing, got null");
        if (stepsOffset < 0) throw DeepKernException.invalidArgument(name() + ".spacing", "stepsOffset",
                "expected an offset >= 0, got " + stepsOffset);
        spacing = s;
        this.stepsOffset = stepsOffset;
        return this;
    }

    /** @return the sigma grid, sigma_n = 0 last (Heun's with its repeats) */
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

    /** The discrete family's sample is x0 + sigma eps; the model sees it scaled. */
    @Override
    protected NoiseLevel sampleLevel(int i) {
        return schedule == null ? level(i) : new NoiseLevel(timesteps[i], 1, sigmas[i]);
    }

    @Override
    public Tensor scaleModelInput(Tensor x, double t) {
        if (schedule == null) return super.scaleModelInput(x, t);
        Call c = new Call(name() + ".scaleModelInput");
        c.tensor("x", x);
        double s = sigmas[index(c, t)], scale = 1 / Math.sqrt(s * s + 1);
        return Call.fresh(c.output(x.dtype(), x.shape()),
                out -> Diffusion.step(c, new StepCoefs().out(scale, 0, 0), x, x, null, null, null, out, null));
    }

    @Override
    protected SchedulerOutput stepAt(int i, StepInput in) {
        double xScale = schedule == null ? 1 : level(i).a();
        // d = (x - x0) / sigma is eps (discrete: x = x0 + sigma eps) or eps - x0 (flow), formed so,
        // without dividing by a small sigma: d = eps - k x0 (a clipped x0 makes eps divide, as diffusers)
        double k = schedule == null ? 1 : 0;
        var c = convert(level(i), xScale, true);
        if (sample == null) {  // Euler, or Heun's stage 1
            double dt = sigmas[i + 1] - sigmas[i];
            c.out(1, -dt * k, dt);
            if (!heun || sigmas[i + 1] == 0) return launch(c, in, null, null);
            SchedulerOutput stage1 = launch(c.out2(0, -k, 1), in, null, null);  // its second output is d, kept for stage 2
            try {
                Tensor x0 = in.x().add(stage1.predOriginalSample(), -sigmas[i]);  // x0 = x - sigma d
                // the state of stage 2: out of any Scope the caller has open, closed by clearState
                sample = Scope.detach(in.x().reshape(in.x().shape()));
                derivative = Scope.detach(stage1.predOriginalSample());
                return new SchedulerOutput(stage1.takePrevSample(), x0);
            } catch (RuntimeException e) {
                stage1.close();
                throw e;
            }
        }
        // Heun's stage 2 at x~ = x, sigma' = sigmas[i]: x' = sample + dt/2 (d + d(x~))
        double dt = sigmas[i] - sigmas[i - 1];
        c.out(0, -dt / 2 * k, dt / 2).extras(dt / 2, 1);
        try {
            return launch(c, in, derivative, sample);
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
