package org.deepkern.diffusion;

import org.deepkern.DeepKernException;
import org.deepkern.Tensor;

/**
 * DDIM (Song et al. 2021; diffusers' DDIMScheduler). From t to p = t - T div n (alpha_bar_p = 1
 * when p &lt; 0, diffusers' set_alpha_to_one):
 * <pre>
 *   x0, eps = the model output converted ({@link Prediction}, a = sqrt(alpha_bar_t), b = sqrt(1 - alpha_bar_t)); x0 clipped
 *   sigma   = eta sqrt((1 - alpha_bar_p) / (1 - alpha_bar_t) (1 - alpha_bar_t / alpha_bar_p))
 *   x_p     = sqrt(alpha_bar_p) x0 + sqrt(1 - alpha_bar_p - sigma^2) eps + sigma z
 * </pre>
 * eta = 0 is deterministic (DDIM), eta = 1 has DDPM's posterior variance. eps is the unclipped
 * one (use_clipped_model_output = False). Defaults: epsilon, eta 0, leading spacing, no clipping.
 */
public final class DdimScheduler extends VpDiscreteScheduler<DdimScheduler> {
    private double eta;

    public DdimScheduler(NoiseSchedule schedule) {
        super(schedule);
    }

    public DdimScheduler eta(double eta) {
        if (!(eta >= 0 && eta <= 1)) throw DeepKernException.invalidArgument(name() + ".eta", "eta", "expected 0 <= eta <= 1, got " + eta);
        this.eta = eta;
        return this;
    }

    @Override
    protected Tensor stepAt(int i, StepInput in) {
        int t = (int) timesteps[i];
        int p = t - schedule.trainSteps() / timesteps.length;
        double abT = schedule.alphaBar(t), abP = p >= 0 ? schedule.alphaBar(p) : 1;
        double sigma = eta * Math.sqrt((1 - abP) / (1 - abT) * (1 - abT / abP));
        var c = convert(level(i), 1).out(0, Math.sqrt(abP), Math.sqrt(Math.max(0, 1 - abP - sigma * sigma)));
        return launch(noise(c, sigma, in.x()), in, null, null, null);
    }
}
