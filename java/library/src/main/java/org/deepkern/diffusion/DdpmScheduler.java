package org.deepkern.diffusion;

import org.deepkern.DeepKernException;

/**
 * DDPM ancestral sampling (Ho et al. 2020; diffusers' DDPMScheduler). From t to the previous
 * timestep p of the grid (p = -1 after the last, with alpha_bar_{-1} = 1):
 * <pre>
 *   alpha = alpha_bar_t / alpha_bar_p,  beta = 1 - alpha
 *   x0    = the model output converted ({@link Prediction}, a = sqrt(alpha_bar_t), b = sqrt(1 - alpha_bar_t)), clipped
 *   x_p   = sqrt(alpha_bar_p) beta / (1 - alpha_bar_t) x0 + sqrt(alpha) (1 - alpha_bar_p) / (1 - alpha_bar_t) x_t + sigma z
 *   sigma^2 = (1 - alpha_bar_p) / (1 - alpha_bar_t) beta   (fixed_small, at least 1e-20)   or   beta   (fixed_large)
 * </pre>
 * with no noise at t = 0. The defaults are diffusers': epsilon prediction, fixed_small, clip_sample
 * on with clip_sample_range 1, leading spacing with steps_offset 0. Not supported: the learned and
 * _log variance types, thresholding (diffusers' default is off), rescale_betas_zero_snr.
 */
public final class DdpmScheduler extends VpDiscreteScheduler<DdpmScheduler> {
    /** diffusers' variance_type: the posterior variance (fixed_small) or beta (fixed_large). */
    public enum Variance {
        /** The posterior variance (1 - alpha_bar_p) / (1 - alpha_bar_t) beta, diffusers' default. */
        FIXED_SMALL,
        /** beta. */
        FIXED_LARGE
    }

    private Variance variance = Variance.FIXED_SMALL;

    /** @param schedule the training noise schedule */
    public DdpmScheduler(NoiseSchedule schedule) {
        super(schedule);
    }

    /**
     * @param v diffusers' variance_type (FIXED_SMALL by default)
     * @return this scheduler
     */
    public DdpmScheduler variance(Variance v) {
        if (v == null) throw DeepKernException.invalidArgument(name() + ".variance", "variance", "expected FIXED_SMALL or FIXED_LARGE, got null");
        variance = v;
        return this;
    }

    @Override
    protected SchedulerOutput stepAt(int i, StepInput in) {
        int t = (int) timesteps[i];
        int p = i + 1 < timesteps.length ? (int) timesteps[i + 1] : -1;
        double abT = schedule.alphaBar(t), abP = p >= 0 ? schedule.alphaBar(p) : 1;
        double alpha = abT / abP, beta = 1 - alpha;
        double var = variance == Variance.FIXED_SMALL ? Math.max((1 - abP) / (1 - abT) * beta, 1e-20) : beta;
        var c = convert(level(i), 1, false).out(Math.sqrt(alpha) * (1 - abP) / (1 - abT), Math.sqrt(abP) * beta / (1 - abT), 0);
        return launch(noise(c, t > 0 ? Math.sqrt(var) : 0, in.x()), in, null, null);
    }
}
