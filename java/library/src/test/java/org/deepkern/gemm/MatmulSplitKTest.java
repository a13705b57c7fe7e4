package org.deepkern.gemm;

import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.testing.Close;
import org.deepkern.testing.EmuSchedules;
import org.deepkern.testing.Reference;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.Tf32;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Split K on emu: a product with fewer output tiles than the emulator's workers and a long K runs
 * its K loop in pieces whose f32 partials a second kernel adds up in order with the epilogue
 * (gemm.cu). Each case matches the double reference; the f32 (TF32) ones also differ in their last
 * bits from the same product run unsplit (as one batch of a broadcast, which never splits), so
 * the split path ran.
 */
class MatmulSplitKTest {
    @ParameterizedTest(name = "{0} m={1} n={2} k={3} transB={4}")
    @CsvSource({"BF16, 64, 72, 600, false", "F16, 100, 7, 700, true", "BF16, 3, 120, 1000, true", "F32, 40, 36, 300, false",
                "F32, 5, 9, 400, true"})
    void splitMatchesReferenceAndDiffersFromUnsplit(DType dtype, int m, int n, int k, boolean tb) {
        EmuSchedules.assumeEmu();
        assumeTrue(DeepKern.deviceInfo(Device.EMU).multiprocessors() >= 2, "one emulator worker: nothing to split for");
        Device emu = Device.EMU;
        boolean tf32 = dtype == DType.F32;
        DeepKern.setAllowTf32(emu, tf32);  // f32 splits on the tensor-core (TF32) kernel only
        try (Scope s = Scope.open()) {
            Tensor a = RowChecks.tensor(emu, dtype, normal(m * k, 3L * k + m, 0, 1), m, k);
            Tensor b = RowChecks.tensor(emu, dtype, normal(k * n, 5L * k + n, 0, 1), tb ? new long[] {n, k} : new long[] {k, n});
            float[] av = a.toFloatArray(), bv = b.toFloatArray();
            double[] v = new double[m * n], mag = new double[m * n];
            MatmulTest.product(tf32 ? Tf32.round(av) : av, 0, tf32 ? Tf32.round(bv) : bv,
                    0, m, n, k, false, tb, v, mag, 0);
            float[] split = F.matmul(a, b, false, tb).toFloatArray();
            double t = tf32 ? 2e-5 : RowChecks.tol(dtype);
            Close.assertClose(v, split, t, i -> t * mag[i], "split-K matmul " + dtype);
            // the same product as batch 1 of 2 (a broadcast b): one block per tile, the whole K
            Tensor a2 = Tensor.cat(java.util.List.of(a.reshape(1, m, k), a.reshape(1, m, k)), 0);
            float[] unsplit = Arrays.copyOf(F.matmul(a2, b, false, tb).toFloatArray(), m * n);
            Close.assertClose(v, unsplit, t, i -> t * mag[i], "unsplit matmul " + dtype);
            // f32 outputs keep the difference the summation order makes; 16-bit ones mostly round it away
            if (tf32) assertFalse(Arrays.equals(split, unsplit), "split and unsplit sums agree bit for bit: was K split?");
        } finally {
            DeepKern.setAllowTf32(emu, false);
        }
    }

    /** The split's second kernel applies linear's epilogue: bias, GELU and a residual. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "F16"})
    void splitLinearAppliesTheEpilogueOnce(DType dtype) {
        EmuSchedules.assumeEmu();
        assumeTrue(DeepKern.deviceInfo(Device.EMU).multiprocessors() >= 2, "one emulator worker: nothing to split for");
        Device emu = Device.EMU;
        int rows = 40, out = 24, in = 1000;
        try (Scope s = Scope.open()) {
            Tensor x = RowChecks.tensor(emu, dtype, normal(rows * in, 11, 0, 1), rows, in);
            Tensor w = RowChecks.tensor(emu, dtype, normal(out * in, 12, 0, 0.05), out, in);
            Tensor bias = RowChecks.tensor(emu, dtype, normal(out, 13, 0, 1), out);
            Tensor res = RowChecks.tensor(emu, dtype, normal(rows * out, 14, 0, 1), rows, out);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = bias.toFloatArray(), rs = res.toFloatArray();
            double[] v = new double[rows * out], mag = new double[rows * out];
            MatmulTest.product(xs, 0, ws, 0, rows, out, in, false, true, v, mag, 0);
            double[] want = new double[v.length];
            for (int i = 0; i < v.length; i++) want[i] = Reference.gelu(v[i] + bs[i % out]) + rs[i];
            float[] got = F.linear(x, w, bias, Act.gelu(), res).toFloatArray();
            double t = RowChecks.tol(dtype);
            Close.assertClose(want, got, t, i -> t * (mag[i] + 1), "split-K linear " + dtype);
        }
    }
}
