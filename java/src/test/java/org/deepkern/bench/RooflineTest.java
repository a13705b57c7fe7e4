package org.deepkern.bench;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class RooflineTest {
    private final Roofline r = new Roofline(100e9, 1e12);  // 100 GB/s, 1 TFLOP/s

    @Test
    void floorIsTheSlowerOfBytesAndFlops() {
        assertEquals(10, r.ridge(), 1e-12);
        assertEquals(1e-3, r.floorSeconds(100e6, 1e6), 1e-15);   // bandwidth-bound
        assertEquals(1e-3, r.floorSeconds(1e3, 1e9), 1e-15);     // compute-bound
        assertEquals(0.25, r.fraction(100e6, 0, 4e-3), 1e-12);
        assertEquals(100e9, r.attainable(1), 1e-3);
        assertEquals(1e12, r.attainable(1000), 1e-3);
    }

    @Test
    void resultRatesFollowFromTheMedian() {
        BenchCase c = new BenchCase(new GeluOp(org.deepkern.ops.GeluApproximation.NONE), org.deepkern.DType.F32,
                new long[] {1000, 1000});
        assertEquals(8e6, c.bytes());
        assertEquals(20e6, c.flops());
        Result res = new Result(c, "cpu", null, new Stats(1e-3, 1e-3, 1e-3, 1), r,
                new Peer.PeerTime("p", new Stats(3e-3, 3e-3, 3e-3, 1), ""));
        assertEquals(8, res.gbPerSecond(), 1e-9);
        assertEquals(20, res.gflopPerSecond(), 1e-9);
        assertEquals(0.08, res.rooflineFraction(), 1e-12);
        assertEquals(3, res.speedup(), 1e-12);
        assertEquals(2.5, res.intensity(), 1e-12);
    }
}
