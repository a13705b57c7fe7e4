package org.deepkern.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class StatsTest {
    @Test
    void percentilesInterpolateBetweenOrderStatistics() {
        Stats s = Stats.of(new double[] {5, 1, 4, 2, 3, 6, 8, 7, 10, 9, 11});  // 1..11
        assertEquals(6, s.median(), 1e-12);
        assertEquals(2, s.p10(), 1e-12);
        assertEquals(10, s.p90(), 1e-12);
        assertEquals(11, s.samples());
        assertEquals(4.0 / 6, s.spread(), 1e-12);
        assertEquals(2.5, Stats.of(new double[] {3, 2}).median(), 1e-12);
    }

    @Test
    void samplerTimesPerCallAndRotatesCopies() {
        // a fake clock: every call costs exactly 1 ms, so every sample says 1 ms per call
        int[] calls = new int[3];
        double[] now = {0};
        Clock clock = new Clock() {
            double started;

            @Override
            public void start() {
                started = now[0];
            }

            @Override
            public double stop() {
                return now[0] - started;
            }
        };
        Stats s = Sampler.QUICK.time(clock, 3, k -> {
            calls[k]++;
            now[0] += 1e-3;
        });
        assertEquals(1e-3, s.median(), 1e-12);
        assertEquals(0, s.spread(), 1e-9);
        assertTrue(s.samples() >= Sampler.QUICK.minSamples());
        assertTrue(Math.abs(calls[0] - calls[2]) <= 1, "copies used in turn");
    }

    @Test
    void rotationCoversFourCacheSizes() {
        assertEquals(8, Bench.copies(2e6, 4_000_000));
        assertEquals(1, Bench.copies(1e9, 4_000_000));
        assertEquals(Bench.MAX_COPIES, Bench.copies(16, 4_000_000));
    }
}
