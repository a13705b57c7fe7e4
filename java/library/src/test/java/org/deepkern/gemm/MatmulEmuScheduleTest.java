package org.deepkern.gemm;

import org.deepkern.ops.F;
import org.deepkern.testing.RowChecks;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;
import static org.deepkern.testing.EmuSchedules.assumeEmu;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;

import java.util.Arrays;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.DeepKern;
import org.deepkern.testing.Close;
import org.deepkern.testing.Tf32;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The tensor-core GEMM's cp.async pipeline (3 stages over K) gives bit-identical, correct results
 * whatever order the emulator runs a block's threads in between barriers: a stage read before its
 * copies were waited for and published, or refilled while another warp still reads it, would
 * differ between orders (or read the emulator's poisoned shared memory). Shapes run more K steps
 * than stages, cut partial tiles on every edge, and cover both the 16-byte cp.async path and the
 * element path (a contiguous extent that is not a multiple of 8), transposed or not, batched;
 * f32 with TF32 allowed likewise (its k-major tiles read by 4-byte loads), against the double
 * product of the TF32-rounded operands.
 */
class MatmulEmuScheduleTest {
    @ParameterizedTest(name = "{0} m={1} n={2} k={3} transA={4} transB={5} batch={6}")
    @CsvSource({
            "BF16, 70, 72, 200, false, false, 1",  // cp.async rows; 7 K steps; N spans two tiles
            "F16, 136, 72, 200, true, true, 1",    // both stored transposed, M spans two tiles
            "BF16, 33, 67, 77, false, false, 1",   // K, N not multiples of 8: element path for both
            "F16, 17, 40, 96, true, false, 1",     // a transposed with M = 17: element path for a only
            "BF16, 20, 24, 40, false, true, 3",    // batched
    })
    void pipelineInEveryOrder(DType dtype, int m, int n, int k, boolean ta, boolean tb, int batch) {
        check(dtype, false, m, n, k, ta, tb, batch);
    }

    @ParameterizedTest(name = "f32 tf32 m={0} n={1} k={2} transA={3} transB={4} batch={5}")
    @CsvSource({
            "70, 72, 200, false, false, 1",   // 16-byte rows; K steps past the stages
            "136, 72, 200, true, true, 1",    // both k-major
            "33, 67, 77, false, true, 1",     // extents not multiples of 4: element path
            "20, 24, 40, true, false, 3",     // batched
    })
    void tf32PipelineInEveryOrder(int m, int n, int k, boolean ta, boolean tb, int batch) {
        assumeEmu();
        DeepKern.setAllowTf32(Device.EMU, true);
        try {
            check(DType.F32, true, m, n, k, ta, tb, batch);
        } finally {
            DeepKern.setAllowTf32(Device.EMU, false);
        }
    }

    private static void check(DType dtype, boolean tf32, int m, int n, int k, boolean ta, boolean tb, int batch) {
        Device emu = Device.EMU;
        long[] as = ta ? new long[] {batch, k, m} : new long[] {batch, m, k};
        long[] bs = tb ? new long[] {batch, n, k} : new long[] {batch, k, n};
        assumeEmu();
        try (Scope scope = Scope.open()) {
            Tensor a = tensor(emu, dtype, normal(batch * m * k, 7, 0, 1), as);
            Tensor b = tensor(emu, dtype, normal(batch * k * n, 8, 0, 1), bs);
            float[] out = sameInEveryOrder("matmul", 97, () -> F.matmul(a, b, ta, tb).toFloatArray());
            float[] av = a.toFloatArray(), bv = b.toFloatArray();
            if (tf32) {
                av = Tf32.round(av);
                bv = Tf32.round(bv);
            }
            double[] v = new double[batch * m * n], mag = new double[v.length];
            for (int z = 0; z < batch; z++)
                MatmulTest.product(av, z * m * k, bv, z * k * n, m, n, k, ta, tb, v, mag, z * m * n);
            double t = tf32 ? 2e-5 : RowChecks.tol(dtype);
            Close.assertClose(v, out, t, i -> t * mag[i] + 1e-30, "matmul " + dtype + " " + Arrays.toString(as)
                    + " @ " + Arrays.toString(bs));
        }
    }
}
