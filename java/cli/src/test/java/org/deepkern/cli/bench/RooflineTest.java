package org.deepkern.cli.bench;

import org.deepkern.ops.Act;
import org.deepkern.DType;
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
        BenchCase c = new BenchCase(new ActivationOp(org.deepkern.ops.Act.Kind.GELU, false, false),
                org.deepkern.DType.F32, new long[] {1000, 1000});
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

    /** Every input read and every output written once: x, gradOut, bias in; grad_in, grad_bias out. */
    @Test
    void bytesCountEveryInputAndOutput() {
        var dt = org.deepkern.DType.BF16;
        long[] s = {8, 4};
        assertEquals(2.0 * (32 + 32 + 4 + 32 + 4),
                new BenchCase(new ActivationOp(org.deepkern.ops.Act.Kind.SILU, true, true), dt, s).bytes());
        assertEquals(2.0 * (32 + 16), new BenchCase(new SwiGluOp(true, false), dt, s).bytes());       // x -> half
        assertEquals(2.0 * (32 + 16 + 32), new BenchCase(new SwiGluOp(true, true), dt, s).bytes());   // x, gradOut -> grad_x
        assertEquals(2.0 * (3 * 32 + 2 * 32), new BenchCase(new SwiGluOp(false, true), dt, s).bytes());
        assertEquals(4.0 * 32, new BenchCase(new RandnOp(), org.deepkern.DType.F32, s).bytes());       // output only
    }
}
