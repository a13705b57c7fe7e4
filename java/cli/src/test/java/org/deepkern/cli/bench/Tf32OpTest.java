package org.deepkern.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The TF32 cases: their gate passes the tensor-core kernels run with TF32 allowed (on emu, which
 * runs them thread for thread) and fails the same kernels' exact f32; the harness leaves the
 * switch off after the case; the cases exist on cuda only.
 */
class Tf32OpTest {
    private static Bench emuBench() {
        return new Bench(Device.EMU, new Sampler(0.001, 1e-4, 2, 3, 0.01), new DeviceClock(Device.EMU),
                new Roofline(1e10, 1e10), 1 << 20, null, false);
    }

    /** The TF32 case's reference with the switch left off: an f32 product, not rounded the TF32 way. */
    private record Untouched(Tf32Op op) implements BenchOp {
        public String name() {
            return op.name();
        }

        public List<long[]> inputShapes(long[] s) {
            return op.inputShapes(s);
        }

        public List<long[]> outputShapes(long[] s) {
            return op.outputShapes(s);
        }

        public double flops(long[] s) {
            return op.flops(s);
        }

        public void run(long[] s, Tensor[] in, Tensor[] out) {
            op.run(s, in, out);
        }

        public String verify(long[] s, float[][] in, float[][] out, DType t) {
            return op.verify(s, in, out, t);
        }
    }

    @Test
    void gateTakesTf32AndRefusesExactF32() {
        List<BenchCase> cases = List.of(new BenchCase(new Tf32Op(new MatmulOp(false)), DType.F32, new long[] {40, 24, 130}),
                new BenchCase(new Tf32Op(new ConvOp(false, false)), DType.F32, ConvOp.shape(2, 9, 8, 12, 3, 1, 1)));
        for (BenchCase c : cases) {
            Result r = emuBench().run(c);
            assertTrue(r.passed(), c.id() + ": " + r.failure());
            assertFalse(DeepKern.allowTf32(Device.EMU), "the harness turns TF32 off after " + c.id());
            Result exact = emuBench().run(new BenchCase(new Untouched((Tf32Op) c.op()), DType.F32, c.shape()));
            assertFalse(exact.passed(), c.id() + " computed in f32 passed the TF32 gate");
        }
    }

    @Test
    void roundsToTf32TiesAway() {
        assertEquals(1f + 0x1p-10f, Tf32Op.round(1f + 0x1p-11f));
        assertEquals(-(1f + 0x1p-10f), Tf32Op.round(-(1f + 0x1p-11f)));
        assertEquals(1f, Tf32Op.round(1f + 0x1p-12f));
        assertEquals(2f, Tf32Op.round(2f - 0x1p-23f));
    }

    @Test
    void casesOnCudaOnly() {
        assertTrue(Cases.all(true, true).stream().anyMatch(c -> c.op().tf32() && c.op().name().equals("conv2d_tf32")));
        assertTrue(Cases.all(true, true).stream().anyMatch(c -> c.op().name().equals("matmul_tf32")));
        assertFalse(Cases.all(true, false).stream().anyMatch(c -> c.op().tf32()));
    }
}
