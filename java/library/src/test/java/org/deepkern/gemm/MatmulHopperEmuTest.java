package org.deepkern.gemm;

import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import org.deepkern.testing.EmulatedHopper;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.testing.Close;
import org.deepkern.testing.Reference;
import org.deepkern.testing.RowChecks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The Hopper GEMM (kernels/gemm/gemm_sm90.cu: a TMA producer warp, two wgmma consumer warpgroups,
 * mbarrier stages, persistent blocks) on the emulator standing for an sm_90: against the double
 * product, bit-identical under every thread order (a stage read before its TMA bytes completed,
 * refilled while a wgmma still reads it, or a wrong barrier phase would differ, read poison, or
 * fail the launch), on shapes with partial tiles on every edge, each operand in both majors, and
 * more tiles than the emulator's workers (blocks take several tiles, the stages cycling on
 * across them), batched. Products the kernel does not take (rows TMA cannot address, a broadcast
 * operand) still run on the Ampere kernel there, and the choice is by compute capability.
 */
@ExtendWith(EmulatedHopper.class)
class MatmulHopperEmuTest {
    @ParameterizedTest(name = "{0} m={1} n={2} k={3} transA={4} transB={5}")
    @CsvSource({
            "BF16, 70, 72, 200, false, false",   // one tile; a K tail of 8 in the fourth stage
            "F16, 136, 264, 192, true, false",   // A MN-major; 2 x 2 tiles, one row and 8 columns past the first
            "BF16, 300, 520, 136, false, true",  // B K-major; 3 x 3 tiles over the workers
            "F16, 129, 257, 64, true, true",     // both transposed; one past each tile edge, one stage
            "F16, 8, 8, 8, false, false",        // smaller than a box in every dimension
            "BF16, 33, 67, 77, false, false",    // rows not 16-byte multiples: the Ampere kernel
    })
    void matchesTheDoubleProductInEveryOrder(DType dtype, int m, int n, int k, boolean ta, boolean tb) {
        check(dtype, m, n, k, ta, tb, 1);
    }

    /** Batches as the tensor maps' third dim, the tiles of all of them over the persistent blocks. */
    @ParameterizedTest(name = "{0} m={1} n={2} k={3} transA={4} transB={5} batch={6}")
    @CsvSource({
            "BF16, 20, 24, 40, false, true, 3",
            "F16, 136, 72, 96, true, false, 2",   // two row tiles per batch, A MN-major
    })
    void batchesMatchTheDoubleProduct(DType dtype, int m, int n, int k, boolean ta, boolean tb, int batch) {
        check(dtype, m, n, k, ta, tb, batch);
    }

    /** A broadcast operand (batch stride 0, which TMA cannot step by) stays on the Ampere kernel. */
    @Test
    void aBroadcastOperandRunsOnTheAmpereKernel() {
        Device emu = Device.EMU;
        int batch = 3, m = 20, n = 24, k = 40;
        try (Scope scope = Scope.open()) {
            Tensor a = tensor(emu, DType.BF16, normal(batch * m * k, 51, 0, 1), batch, m, k);
            Tensor b = tensor(emu, DType.BF16, normal(k * n, 52, 0, 1), k, n);
            float[] out = F.matmul(a, b).toFloatArray(), av = a.toFloatArray(), bv = b.toFloatArray();
            double[] v = new double[batch * m * n], mag = new double[v.length];
            for (int z = 0; z < batch; z++) MatmulTest.product(av, z * m * k, bv, 0, m, n, k, false, false, v, mag, z * m * n);
            double t = RowChecks.tol(DType.BF16);
            Close.assertClose(v, out, t, i -> t * mag[i], "broadcast matmul on sm_90");
        }
    }

    /** linear's epilogue (bias, GELU, residual) in the consumers' stores. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "F16"})
    void linearAppliesTheEpilogue(DType dtype) {
        Device emu = Device.EMU;
        int rows = 150, out = 264, in = 128;
        try (Scope s = Scope.open()) {
            Tensor x = tensor(emu, dtype, normal(rows * in, 21, 0, 1), rows, in);
            Tensor w = tensor(emu, dtype, normal(out * in, 22, 0, 0.1), out, in);
            Tensor bias = tensor(emu, dtype, normal(out, 23, 0, 1), out);
            Tensor res = tensor(emu, dtype, normal(rows * out, 24, 0, 1), rows, out);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = bias.toFloatArray(), rs = res.toFloatArray();
            double[] v = new double[rows * out], mag = new double[rows * out];
            MatmulTest.product(xs, 0, ws, 0, rows, out, in, false, true, v, mag, 0);
            double[] want = new double[v.length];
            for (int i = 0; i < v.length; i++) want[i] = Reference.gelu(v[i] + bs[i % out]) + rs[i];
            float[] got = sameInEveryOrder("linear", 5, () -> F.linear(x, w, bias, Act.gelu(), res).toFloatArray());
            double t = RowChecks.tol(dtype);
            Close.assertClose(want, got, t, i -> t * (mag[i] + 1), "sm_90 linear " + dtype);
        }
    }

    /**
     * The kernel is chosen by compute capability: on an emulated sm_90 whose shared memory is cut to
     * sm_86's 99 KB, its 212 KB launch is refused (so it was the one chosen); an sm_86 runs the
     * same product on the Ampere kernel.
     */
    @Test
    void theHopperKernelIsChosenOnSm90Only() {
        Device emu = Device.EMU;
        try (Scope s = Scope.open()) {
            Tensor a = tensor(emu, DType.BF16, normal(64 * 64, 31, 0, 1), 64, 64);
            Emulator.Options hopper = Emulator.options();
            float[] onHopper = F.matmul(a, a).toFloatArray();
            Emulator.setOptions(new Emulator.Options(hopper.schedule(), hopper.scheduleSeed(), Emulator.SHARED_LIMIT_SM86,
                    hopper.threads(), 90));
            DeepKernException e = assertThrows(DeepKernException.class, () -> F.matmul(a, a).toFloatArray());
            assertEquals(Status.KERNEL, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("'gemm_sm90'") && e.getMessage().contains("shared memory"), e.getMessage());
            Emulator.setOptions(hopper.withGpu(86));
            float[] ampere = F.matmul(a, a).toFloatArray();
            float[] av = a.toFloatArray();
            double[] v = new double[64 * 64], mag = new double[v.length];
            MatmulTest.product(av, 0, av, 0, 64, 64, 64, false, false, v, mag, 0);
            double t = RowChecks.tol(DType.BF16);
            Close.assertClose(v, ampere, t, i -> t * mag[i], "sm_86 matmul");
            Close.assertClose(v, onHopper, t, i -> t * mag[i], "sm_90 matmul");
        }
    }

    private static void check(DType dtype, int m, int n, int k, boolean ta, boolean tb, int batch) {
        Device emu = Device.EMU;
        long[] as = ta ? new long[] {batch, k, m} : new long[] {batch, m, k};
        long[] bs = tb ? new long[] {batch, n, k} : new long[] {batch, k, n};
        try (Scope scope = Scope.open()) {
            Tensor a = tensor(emu, dtype, normal(batch * m * k, 41, 0, 1), as);
            Tensor b = tensor(emu, dtype, normal(batch * k * n, 42, 0, 1), bs);
            float[] out = sameInEveryOrder("sm_90 matmul", 61, () -> F.matmul(a, b, ta, tb).toFloatArray());
            float[] av = a.toFloatArray(), bv = b.toFloatArray();
            double[] v = new double[batch * m * n], mag = new double[v.length];
            for (int z = 0; z < batch; z++)
                MatmulTest.product(av, z * m * k, bv, z * k * n, m, n, k, ta, tb, v, mag, z * m * n);
            double t = RowChecks.tol(dtype);
            Close.assertClose(v, out, t, i -> t * mag[i] + 1e-30, "sm_90 matmul " + dtype + " " + Arrays.toString(as)
                    + " @ " + Arrays.toString(bs));
        }
    }
}
