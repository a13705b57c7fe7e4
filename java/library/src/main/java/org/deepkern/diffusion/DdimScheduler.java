package org.deepkern.diffusion;

import org.deepkern.DeepKernException;

/**
 * DDIM (Song et al. 2021; diffusers' DDIMScheduler). From t to p = t - T div n:
 * <pre>
 *   x0, eps = the model output converted ({@link Prediction}, a = sqrt(alpha_bar_t), b = sqrt(1 - alpha_bar_t)); x0 clipped
 *   sigma   = eta sqrt((1 - alpha_bar_p) / (1 - alpha_bar_t) (1 - alpha_bar_t / alpha_bar_p))
 *   x_p     = sqrt(alpha_bar_p) x0 + sqrt(1 - alpha_bar_p - sigma^2) eps + sigma z
 * </pre>
 * with alpha_bar_p = 1 when p &lt; 0 (set_alpha_to_one), else alpha_bar_0. eta = 0 is
 * deterministic (DDIM), eta = 1 has DDPM's posterior variance. The defaults are diffusers': epsilon
 * prediction, clip_sample on with clip_sample_range 1, set_alpha_to_one, leading spacing with
 * steps_offset 0, eta 0, eps the model's (use_clipped_model_output off). Stable Diffusion's config
 * is {@code clipSample(false).setAlphaToOne(false).spacing(LEADING, 1)}. Not supported:
 * thresholding (diffusers' default is off), rescale_betas_zero_snr.
 */
public final class DdimScheduler extends VpDiscreteScheduler<DdimScheduler> {
    private double eta;
    private boolean setAlphaToOne = true;
    private boolean useClippedModelOutput;

    /** @param schedule the training noise schedule */
    public DdimScheduler(NoiseSchedule schedule) {
        super(schedule);
    }

    /**
     * @param eta the weight of the step's noise, in [0, 1] (diffusers' step argument eta)
     * @return this scheduler
     */
    public DdimScheduler eta(double eta) {
        if (!(eta >= 0 && eta <= 1)) throw DeepKernException.invalidArgument(name() + ".eta", "eta", "expected 0 <= eta <= 1, got " + eta);
        this.eta = eta;
        return this;
    }

    /**
     * @param on diffusers' set_alpha_to_one: the last step goes to alpha_bar = 1 (on) or to alpha_bar_0
     * @return this scheduler
     */
    public DdimScheduler setAlphaToOne(boolean on) {
        setAlphaToOne = on;
        return this;
    }

    /**
     * @param on diffusers' use_clipped_model_output: eps re-derived from the clipped x0 (as GLIDE)
     *     instead of the model's
     * @return this scheduler
     */
    public DdimScheduler useClippedModelOutput(boolean on) {
        useClippedModelOutput = on;
        return this;
    }

    @Override
    protected SchedulerOutput stepAt(int i, StepInput in) {
        int t = (int) timesteps[i];
        int p = t - schedule.trainSteps() / timesteps.length;
        double abT = schedule.alphaBar(t), abP = p >= 0 ? schedule.alphaBar(p) : setAlphaToOne ? 1 : schedule.alphaBar(0);
        double sigma = eta * Math.sqrt((1 - abP) / (1 - abT) * (1 - abT / abP));
        var c = convert(level(i), 1, useClippedModelOutput).out(0, Math.sqrt(abP), Math.sqrt(Math.max(0, 1 - abP - sigma * sigma)));
        return launch(noise(c, sigma, in.x()), in, null, null);
    }
}
