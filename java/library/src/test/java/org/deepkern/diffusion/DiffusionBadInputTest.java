package org.deepkern.diffusion;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Invalid calls raise DeepKernException naming the Java call and the argument; the JVM survives them. */
class DiffusionBadInputTest {
    static void bad(String argument, Executable call) {
        BadInput.assertRejects(argument, "", call);
    }

    /** The same, with the call the message must start with. */
    static void bad(String call, String argument, Executable c) {
        BadInput.assertRejects(argument, call + ": ", c);
    }

    static Tensor zeros(long n, DType dtype) {
        return Tensor.zeros(new long[] {n}, dtype, Device.CPU);
    }

    @Test
    void configuration() {
        NoiseSchedule s = NoiseSchedule.ddpm();
        bad("eta", () -> new DdimScheduler(s).eta(1.5));
        bad("eta", () -> new DdimScheduler(s).eta(-0.1));
        bad("steps", () -> new DdimScheduler(s).setTimesteps(1001));
        bad("steps", () -> new DpmSolverScheduler(s).setTimesteps(0));
        bad("steps", () -> new DpmSolverScheduler(s).setTimesteps(1000));
        bad("steps", () -> EulerScheduler.flow(1000, 1).setTimesteps(2000));
        bad("DdpmScheduler.clipSampleRange", "range", () -> new DdpmScheduler(s).clipSampleRange(0));
        bad("range", () -> new DdpmScheduler(s).clipSampleRange(-1));
        bad("range", () -> new DdimScheduler(s).clipSampleRange(Double.NaN));
        bad("range", () -> new DdimScheduler(s).clipSampleRange(Double.POSITIVE_INFINITY));
        bad("DdpmScheduler.variance", "variance", () -> new DdpmScheduler(s).variance(null));
        bad("DdimScheduler.spacing", "spacing", () -> new DdimScheduler(s).spacing(null, 0));
        bad("EulerScheduler.spacing", "spacing", () -> EulerScheduler.discrete(s).spacing(null, 0));
        bad("DdimScheduler.spacing", "stepsOffset", () -> new DdimScheduler(s).spacing(NoiseSchedule.Spacing.LEADING, -1));
        bad("EulerScheduler.spacing", "stepsOffset", () -> EulerScheduler.discrete(s).spacing(NoiseSchedule.Spacing.LEADING, -1));
        // 50 leading steps of 1000 reach 980: an offset past 19 would leave the train steps
        bad("stepsOffset", () -> new DdimScheduler(s).spacing(NoiseSchedule.Spacing.LEADING, 20).setTimesteps(50));
        bad("DdimScheduler.prediction", "prediction", () -> new DdimScheduler(s).prediction(null));
        bad("DdimScheduler.generator", "generator", () -> new DdimScheduler(s).generator(null));
        bad("shift", () -> EulerScheduler.flow(1000, 0));
        bad("betaSchedule", () -> NoiseSchedule.of("cosine", 1000, 1e-4, 0.02));
    }

    @Test
    void step() {
        NoiseSchedule s = NoiseSchedule.ddpm();
        try (Scope scope = Scope.open()) {
            Tensor x = zeros(16, DType.F32), m = zeros(16, DType.F32);
            DdimScheduler d = new DdimScheduler(s);
            bad("DdimScheduler.step", "t", () -> d.step(m, 999, x));  // before setTimesteps
            d.setTimesteps(10);
            double t0 = d.timesteps()[0];
            bad("DdimScheduler.step", "t", () -> d.step(m, 5, x));
            bad("t", () -> d.step(m, 1000, x));
            bad("DdimScheduler.step", "x", () -> d.step(m, t0, null));
            bad("DdimScheduler.step", "modelOutput", () -> d.step(null, t0, x));
            bad("DdimScheduler.step", "modelOutput", () -> d.step(zeros(15, DType.F32), t0, x));
            bad("DdimScheduler.step", "modelOutput", () -> d.step(zeros(16, DType.BF16), t0, x));
            bad("DdimScheduler.step", "uncond", () -> d.step(m, zeros(8, DType.F32), 2, t0, x));
            bad("uncond", () -> d.step(m, zeros(16, DType.BF16), 2, t0, x));
            Tensor closed = zeros(16, DType.F32);
            closed.close();
            bad("DdimScheduler.step", "x", () -> d.step(m, t0, closed));
            bad("modelOutput", () -> d.step(closed, t0, x));
            Tensor xi = Tensor.of(new int[16], new long[] {16}, Device.CPU);
            bad("DdimScheduler.step", "x", () -> d.step(Tensor.of(new int[16], new long[] {16}, Device.CPU), t0, xi));
            bad("DdimScheduler.step", "guidance", () -> d.step(m, m, Double.NaN, t0, x));
            EulerScheduler e = EulerScheduler.discrete(s).heun();
            e.setTimesteps(4);
            bad("EulerScheduler.step", "modelOutput", () -> e.step(zeros(17, DType.F32), e.timesteps()[0], x));
            GaussianMixture.Exact g = GaussianMixture.ring8().denoiser(Device.CPU, Prediction.EPSILON);
            bad("x", () -> g.predict(Tensor.zeros(new long[] {4, 3}, DType.F32, Device.CPU), new NoiseLevel(0, 1, 1)));
            g.close();
        }
    }

    @Test
    void addNoiseAndScaleModelInput() {
        NoiseSchedule s = NoiseSchedule.ddpm();
        try (Scope scope = Scope.open()) {
            Tensor x = zeros(16, DType.F32), z = zeros(16, DType.F32);
            DdpmScheduler d = new DdpmScheduler(s);
            bad("DdpmScheduler.addNoise", "original", () -> d.addNoise(null, z, 10));
            bad("DdpmScheduler.addNoise", "noise", () -> d.addNoise(x, null, 10));
            bad("DdpmScheduler.addNoise", "noise", () -> d.addNoise(x, zeros(15, DType.F32), 10));
            bad("DdpmScheduler.addNoise", "noise", () -> d.addNoise(x, zeros(16, DType.BF16), 10));
            bad("DdpmScheduler.addNoise", "original", () -> d.addNoise(Tensor.of(new int[16], new long[] {16}, Device.CPU), z, 10));
            bad("DdpmScheduler.addNoise", "t", () -> d.addNoise(x, z, 1000));
            bad("DdpmScheduler.addNoise", "t", () -> d.addNoise(x, z, -1));
            bad("DdpmScheduler.addNoise", "t", () -> d.addNoise(x, z, 10.5));
            bad("DdpmScheduler.addNoise", "t", () -> d.addNoise(x, z, (double[]) null));
            bad("DdpmScheduler.addNoise", "t", () -> d.addNoise(x, z, new double[] {1, 2}));
            bad("DdpmScheduler.addNoise", "t", () -> d.addNoise(x.reshape(4, 4), z.reshape(4, 4), new double[] {1, 2, 3, 1000}));
            EulerScheduler e = EulerScheduler.discrete(s);
            bad("EulerScheduler.addNoise", "t", () -> e.addNoise(x, z, 999));  // before setTimesteps
            e.setTimesteps(10);
            bad("EulerScheduler.addNoise", "t", () -> e.addNoise(x, z, 500));  // not on the grid
            bad("EulerScheduler.scaleModelInput", "t", () -> e.scaleModelInput(x, 500));
            bad("EulerScheduler.scaleModelInput", "x", () -> e.scaleModelInput(null, e.timesteps()[0]));
            bad("DdpmScheduler.scaleModelInput", "x", () -> d.scaleModelInput(null, 0));
        }
    }

    @Test
    void sample() {
        DdimScheduler d = new DdimScheduler(NoiseSchedule.ddpm());
        Denoiser zero = (x, lv) -> Tensor.zerosLike(x);
        long[] shape = {8};
        bad("DdimScheduler.sample", "steps", () -> d.sample(zero, Device.CPU, shape, new Generator(1), null));
        d.setTimesteps(5);
        bad("DdimScheduler.sample", "denoiser", () -> d.sample(null, Device.CPU, shape, new Generator(1), null));
        bad("DdimScheduler.sample", "device", () -> d.sample(zero, null, shape, new Generator(1), null));
        bad("DdimScheduler.sample", "shape", () -> d.sample(zero, Device.CPU, null, new Generator(1), null));
        bad("DdimScheduler.sample", "generator", () -> d.sample(zero, Device.CPU, shape, null, null));
        // a denoiser that answers with the wrong shape fails the step, which names it
        bad("DdimScheduler.step", "modelOutput", () -> d.sample((x, lv) -> Tensor.zeros(4), Device.CPU, shape, new Generator(1), null));
    }
}
