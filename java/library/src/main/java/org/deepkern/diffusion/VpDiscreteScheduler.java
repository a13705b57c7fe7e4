package org.deepkern.diffusion;

import org.deepkern.DeepKernException;
import org.deepkern.internal.Call;

/**
 * What the discrete-time VP samplers (DDPM, DDIM) share: the schedule's alpha_bar on a grid of
 * training timesteps spaced as diffusers' timestep_spacing says (leading and steps_offset 0 by
 * default, as in diffusers), the noise level x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps
 * at each of them, and x0 clipped to [-1, 1] by default (diffusers' clip_sample = True).
 */
public abstract class VpDiscreteScheduler<S extends VpDiscreteScheduler<S>> extends AbstractScheduler<S> {
    /** alpha_bar_t and the train timesteps. */
    protected final NoiseSchedule schedule;
    private NoiseSchedule.Spacing spacing = NoiseSchedule.Spacing.LEADING;
    private int stepsOffset;

    /** @param schedule the training noise schedule */
    protected VpDiscreteScheduler(NoiseSchedule schedule) {
        super(Prediction.EPSILON, true);
        this.schedule = schedule;
    }

    /**
     * @param s diffusers' timestep_spacing
     * @param stepsOffset diffusers' steps_offset (added to leading timesteps)
     * @return this scheduler
     */
    @SuppressWarnings("unchecked")
    public S spacing(NoiseSchedule.Spacing s, int stepsOffset) {
        if (s == null) throw DeepKernException.invalidArgument(name() + ".spacing", "spacing", "expected linspace, leading or trailing, got null");
        if (stepsOffset < 0) throw DeepKernException.invalidArgument(name() + ".spacing", "stepsOffset",
                "expected an offset >= 0, got " + stepsOffset);
        spacing = s;
        this.stepsOffset = stepsOffset;
        return (S) this;
    }

    @Override
    protected double[] makeTimesteps(int n) {
        return schedule.timesteps(n, spacing, stepsOffset, true);
    }

    @Override
    public NoiseLevel level(int i) {
        return levelAt(timesteps[i]);
    }

    /** addNoise takes any train timestep, as diffusers' add_noise indexes alphas_cumprod. */
    @Override
    NoiseLevel sampleLevelAt(Call c, double t) {
        if (!(t >= 0 && t < schedule.trainSteps() && t == Math.rint(t)))
            throw c.invalid("t", "expected an integer train timestep in [0, " + schedule.trainSteps() + "), got " + t);
        return levelAt(t);
    }

    private NoiseLevel levelAt(double t) {
        double ab = schedule.alphaBar((int) t);
        return new NoiseLevel(t, Math.sqrt(ab), Math.sqrt(1 - ab));
    }
}
