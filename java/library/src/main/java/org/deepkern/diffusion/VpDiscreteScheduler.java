package org.deepkern.diffusion;

/**
 * What the discrete-time VP samplers (DDPM, DDIM) share: the schedule's alpha_bar on a grid of
 * training timesteps spaced as diffusers' timestep_spacing says (leading by default), and the
 * noise level x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps at each of them.
 */
public abstract class VpDiscreteScheduler<S extends VpDiscreteScheduler<S>> extends AbstractScheduler<S> {
    protected final NoiseSchedule schedule;
    private NoiseSchedule.Spacing spacing = NoiseSchedule.Spacing.LEADING;
    private int stepsOffset;

    protected VpDiscreteScheduler(NoiseSchedule schedule) {
        super(Prediction.EPSILON);
        this.schedule = schedule;
    }

    @SuppressWarnings("unchecked")
    public S spacing(NoiseSchedule.Spacing s, int stepsOffset) {
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
        double ab = schedule.alphaBar((int) timesteps[i]);
        return new NoiseLevel(timesteps[i], Math.sqrt(ab), Math.sqrt(1 - ab));
    }
}
