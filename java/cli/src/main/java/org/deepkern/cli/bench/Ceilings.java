package org.deepkern.cli.bench;


import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.profile.Probes;

/**
 * Measures a device's {@link Roofline}: bandwidth from a copy four times larger than the cache
 * (bytes read + written; on cpu the faster of memmove and the multithreaded same-dtype cast),
 * arithmetic from Probes.fma. Each is the best of {@link #REPETITIONS} timings, each timing
 * its samples' 10th percentile: a ceiling is what the machine can do, and a slower sample is another
 * process's noise (a kernel's median held to a median ceiling would pass 100% half the time it ran
 * at the ceiling). A run measures them at its start and its end: {@link #moved} says how far they
 * drifted.
 */
public final class Ceilings {
    static final int REPETITIONS = 3;
    /** Drift between the start and the end of a run past which the report calls the machine noisy. */
    public static final double NOISY = 0.15;

    private Ceilings() {}

    public static Roofline measure(Device device, long cacheBytes, Sampler sampler, Clock clock) {
        Roofline best = once(device, cacheBytes, sampler, clock);
        for (int i = 1; i < REPETITIONS; i++) best = best.max(once(device, cacheBytes, sampler, clock));
        return best;
    }

    /** The larger relative change of the two ceilings from a to b. */
    public static double moved(Roofline a, Roofline b) {
        return Math.max(Math.abs(b.bandwidth() / a.bandwidth() - 1), Math.abs(b.flops() / a.flops() - 1));
    }

    private static Roofline once(Device device, long cacheBytes, Sampler sampler, Clock clock) {
        try (Scope scope = Scope.open()) {
            long n = Math.max(4 * cacheBytes, 64L << 20) / 4;  // f32 elements per buffer
            Tensor src = Tensor.randn(new long[] {n}, DType.F32, device, new Generator(1));
            Tensor dst = Tensor.zeros(new long[] {n}, DType.F32, device);  // written: no first touch in the timing
            double bytes = 2.0 * n * 4;
            double copy = sampler.time(clock, 1, k -> Probes.copyBytes(dst, src)).p10();
            if (device.type() == Device.Type.CPU) {
                double cast = sampler.time(clock, 1, k -> dst.copyFrom(src)).p10();
                copy = Math.min(copy, cast);
            }
            boolean gpu = device.type() == Device.Type.CUDA;
            long elements = gpu ? 1L << 22 : 1L << 16;
            int iterations = gpu ? 256 : 1024;
            Tensor out = Tensor.zeros(new long[] {elements}, DType.F32, device);
            double fma = sampler.time(clock, 1, k -> Probes.fma(out, iterations)).p10();
            return new Roofline(bytes / copy, 16.0 * iterations * elements / fma);
        }
    }
}
