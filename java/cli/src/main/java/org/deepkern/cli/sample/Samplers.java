package org.deepkern.cli.sample;

import org.deepkern.diffusion.AbstractScheduler;
import org.deepkern.diffusion.DdimScheduler;
import org.deepkern.diffusion.DdpmScheduler;
import org.deepkern.diffusion.DpmSolverScheduler;
import org.deepkern.diffusion.EulerScheduler;
import org.deepkern.diffusion.NoiseSchedule;
import org.deepkern.diffusion.ScoreSdeScheduler;
import java.util.List;
import org.deepkern.DeepKernException;

/** The samplers by command-line name, on the DDPM schedule (linear betas, T = 1000) where they need one. */
public final class Samplers {
    private Samplers() {}

    public static final List<String> NAMES =
            List.of("ddpm", "ddim", "euler", "heun", "flow-euler", "flow-heun", "dpm++2m", "em-vp", "em-ve", "ode-vp");

    /**
     * A fresh scheduler; eta is DDIM's, sigma_max is the VE SDE's. DDPM and DDIM do not clip x0
     * (diffusers' default clips to [-1, 1]): the targets reach beyond it.
     */
    public static AbstractScheduler<?> create(String name, double eta, double sigmaMax) {
        NoiseSchedule ddpm = NoiseSchedule.ddpm();
        return switch (name) {
            case "ddpm" -> new DdpmScheduler(ddpm).clipSample(false);
            case "ddim" -> new DdimScheduler(ddpm).eta(eta).clipSample(false);
            case "euler" -> EulerScheduler.discrete(ddpm);
            case "heun" -> EulerScheduler.discrete(ddpm).heun();
            case "flow-euler" -> EulerScheduler.flow(1000, 1);
            case "flow-heun" -> EulerScheduler.flow(1000, 1).heun();
            case "dpm++2m" -> new DpmSolverScheduler(ddpm);
            case "em-vp" -> ScoreSdeScheduler.vp();
            case "em-ve" -> ScoreSdeScheduler.ve(sigmaMax);
            case "ode-vp" -> ScoreSdeScheduler.vp().probabilityFlow();
            default -> throw DeepKernException.invalidArgument("Samplers.create", "sampler", "expected one of " + NAMES + ", got " + name);
        };
    }
}
