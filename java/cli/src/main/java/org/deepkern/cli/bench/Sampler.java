package org.deepkern.cli.bench;

import java.util.function.IntConsumer;

/**
 * How a case is timed: warm-up (a whole rotation first, so every input set has been through a
 * call, then calls for {@link #warmup} seconds), then samples of {@code inner} back-to-back calls
 * (enough for a sample to last {@link #minSample} seconds, so launch and clock overheads amortize),
 * each call on the next of {@code copies} input sets so a rotation overflows the cache. Stops after
 * {@link #maxSamples} samples or {@link #budget} seconds, whichever comes first, but never
 * before {@link #minSamples}.
 */
public record Sampler(double warmup, double minSample, int minSamples, int maxSamples, double budget) {

    public static final Sampler QUICK = new Sampler(0.02, 2e-3, 5, 15, 0.3);
    public static final Sampler FULL = new Sampler(0.1, 5e-3, 10, 50, 2.0);

    /** Seconds per call: median and spread over the samples. */
    public Stats time(Clock clock, int copies, IntConsumer call) {
        int next = 0;
        for (; next < copies; next++) call.accept(next);
        // warm-up, doubling the batch until it has run `warmup` seconds in all; the last batch
        // gives a first estimate of one call's time
        double perCall = 0, spent = 0;
        for (int batch = 1; spent < warmup; batch *= 2) {
            clock.start();
            for (int i = 0; i < batch; i++) call.accept(next++ % copies);
            double t = clock.stop();
            spent += t;
            perCall = t / batch;
        }
        int inner = (int) Math.max(1, Math.min(1 << 20, Math.ceil(minSample / Math.max(perCall, 1e-9))));
        double[] samples = new double[maxSamples];
        int n = 0;
        double total = 0;
        while (n < maxSamples && (n < minSamples || total < budget)) {
            clock.start();
            for (int i = 0; i < inner; i++) call.accept(next++ % copies);
            double t = clock.stop();
            total += t;
            samples[n++] = t / inner;
        }
        return Stats.of(java.util.Arrays.copyOf(samples, n));
    }
}
