package org.deepkern.diffusion;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Invalid calls raise DeepKernException naming the argument; the JVM survives them. */
class DiffusionBadInputTest {
    static void bad(String argument, Executable call) {
        BadInput.assertRejects(argument, "", call);
    }

    @Test
    void table() {
        NoiseSchedule s = NoiseSchedule.ddpm();
        bad("eta", () -> new DdimScheduler(s).eta(1.5));
        bad("eta", () -> new DdimScheduler(s).eta(-0.1));
        bad("steps", () -> new DdimScheduler(s).setTimesteps(1001));
        bad("steps", () -> new DpmSolverScheduler(s).setTimesteps(0));
        bad("steps", () -> new DpmSolverScheduler(s).setTimesteps(1000));
        bad("steps", () -> EulerScheduler.flow(1000, 1).setTimesteps(2000));
        bad("clip", () -> new DdpmScheduler(s).clip(-1));
        bad("shift", () -> EulerScheduler.flow(1000, 0));
        bad("betaSchedule", () -> NoiseSchedule.of("cosine", 1000, 1e-4, 0.02));
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {16}, DType.F32, Device.CPU), m = Tensor.zeros(new long[] {16}, DType.F32, Device.CPU);
            DdimScheduler d = new DdimScheduler(s);
            bad("t", () -> d.step(m, 999, x));  // before setTimesteps
            d.setTimesteps(10);
            bad("t", () -> d.step(m, 5, x));
            bad("t", () -> d.step(m, 1000, x));
            bad("model", () -> d.step(Tensor.zeros(new long[] {15}, DType.F32, Device.CPU), d.timesteps()[0], x));
            bad("uncond", () -> d.step(m, Tensor.zeros(new long[] {8}, DType.F32, Device.CPU), 2, d.timesteps()[0], x));
            bad("model", () -> d.step(Tensor.zeros(new long[] {16}, DType.BF16, Device.CPU), d.timesteps()[0], x));
            Tensor xi = Tensor.of(new int[16], new long[] {16}, Device.CPU);
            bad("x", () -> d.step(Tensor.of(new int[16], new long[] {16}, Device.CPU), d.timesteps()[0], xi));
            bad("guidance", () -> d.step(m, m, Double.NaN, d.timesteps()[0], x));
            GaussianMixture.Exact g = GaussianMixture.ring8().denoiser(Device.CPU, Prediction.EPSILON);
            bad("x", () -> g.predict(Tensor.zeros(new long[] {4, 3}, DType.F32, Device.CPU), new NoiseLevel(0, 1, 1)));
            g.close();
        }
    }
}
