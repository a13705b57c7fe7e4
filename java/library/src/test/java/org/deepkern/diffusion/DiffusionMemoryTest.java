package org.deepkern.diffusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.deepkern.testing.Memory;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A sampling loop keeps a few samples alive, not one per step, even inside a Scope (which holds
 * every tensor made in it until it closes): over 3 and over 20 steps of a [64, 1024] f32 latent,
 * the allocator's peak above the start is the same and at most 8 latents (4 for DDPM: x, the model
 * output, the step's two outputs; 5 for DPM-Solver with its previous x0; 7 for Heun, whose second
 * stage also holds the first stage's x and derivative and a scaled model input), and after the
 * loop only the result is left. Both {@link Scheduler#sample} and the loop its javadoc
 * shows, for a noisy, a second-order and a multistep scheduler.
 */
class DiffusionMemoryTest {
    static final long[] SHAPE = {64, 1024};
    static final long LATENT = 64 * 1024 * 4;

    /** One sampling loop to x_0, as sample runs it or as the Scheduler javadoc writes it. */
    interface Loop {
        Tensor run(AbstractScheduler<?> s, Denoiser model, Device device, Generator g);
    }

    /** x_T = initNoiseSigma * randn, the scheduler's noise drawn from g afterwards. */
    static Tensor initialSample(AbstractScheduler<?> scheduler, Device device, Generator g) {
        scheduler.generator(g);
        try (Tensor z = Tensor.randn(SHAPE, DType.F32, device, g)) {
            return z.mul(scheduler.initNoiseSigma());
        }
    }

    static Tensor documented(AbstractScheduler<?> scheduler, Denoiser model, Device device, Generator g) {
        Tensor x = initialSample(scheduler, device, g);
        double[] ts = scheduler.timesteps();
        for (int i = 0; i < ts.length; i++) {
            try (Tensor in = scheduler.scaleModelInput(x, ts[i]);
                 Tensor eps = model.predict(in, scheduler.level(i));
                 SchedulerOutput out = scheduler.step(eps, ts[i], x)) {
                x.close();
                x = out.takePrevSample();
            }
        }
        return x;
    }

    /**
     * The loop with a Scope per step, keeping only the next sample: the multistep schedulers' state
     * (DPM-Solver's last x0, Heun's first stage) must outlive each step's scope.
     */
    static Tensor scopePerStep(AbstractScheduler<?> scheduler, Denoiser model, Device device, Generator g) {
        Tensor x = initialSample(scheduler, device, g);
        double[] ts = scheduler.timesteps();
        for (int i = 0; i < ts.length; i++) {
            try (Scope step = Scope.open()) {
                Tensor eps = model.predict(scheduler.scaleModelInput(x, ts[i]), scheduler.level(i));
                Tensor next = scheduler.step(eps, ts[i], x).takePrevSample();
                x.close();
                x = step.keep(next);
            }
        }
        return x;
    }

    static Stream<Arguments> cases() {
        Loop sample = (s, m, d, g) -> s.sample(m, d, SHAPE, g, null);
        return TestDevices.host().flatMap(d -> Stream.of("ddpm", "heun", "dpm++2m").flatMap(name -> Stream.of(
                Arguments.of(d, name, "sample", sample), Arguments.of(d, name, "documented loop", (Loop) DiffusionMemoryTest::documented),
                Arguments.of(d, name, "scope per step", (Loop) DiffusionMemoryTest::scopePerStep))));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void liveMemoryDoesNotGrowWithTheSteps(Device device, String name, String how, Loop loop) {
        long few = peakAbove(device, name, loop, 3), many = peakAbove(device, name, loop, 20);
        assertTrue(many <= 8 * LATENT, name + " " + how + ": peak " + many + " bytes above the start, more than 8 latents of " + LATENT);
        assertEquals(few, many, name + " " + how + ": the peak grows from 3 steps to 20");
    }

    /** The peak of live bytes above the start during the loop; checks that only the result is left. */
    static long peakAbove(Device device, String name, Loop loop, int steps) {
        AbstractScheduler<?> s = switch (name) {
            case "ddpm" -> new DdpmScheduler(NoiseSchedule.ddpm());
            case "heun" -> EulerScheduler.discrete(NoiseSchedule.ddpm()).heun();
            default -> new DpmSolverScheduler(NoiseSchedule.ddpm());
        };
        s.setTimesteps(steps);
        try (Scope scope = Scope.open()) {
            long before = Memory.settledInUse(device);
            DeepKern.resetPeakMemory(device);
            Tensor x = loop.run(s, (in, level) -> in.mul(0.5), device, new Generator(1));
            long peak = DeepKern.memoryStats(device).peakInUse() - before, left = DeepKern.memoryStats(device).inUse() - before;
            assertEquals(LATENT, left, name + ": bytes left after " + steps + " steps besides the result's");
            assertTrue(Float.isFinite(x.toFloatArray()[0]), name + ": a finite sample");
            return peak;
        }
    }
}
