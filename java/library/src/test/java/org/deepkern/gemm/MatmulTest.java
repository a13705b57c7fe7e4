package org.deepkern.gemm;

import org.deepkern.ops.Act;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.ops.F;
import org.deepkern.ops.LinearGrads;
import org.deepkern.testing.RowChecks;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** matmul (batched, broadcast, transposed operands) and linear with its epilogue, against double loops. */
class MatmulTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        // the last three: several output tiles both ways, more than one group of 8 row tiles (the
        // tensor-core kernel's grouped tile order), and three K blocks of 200 with ragged M and N
        // (the cpu product's 256-deep K blocks)
        int[][] mnk = {{1, 1, 1}, {17, 7, 64}, {130, 1, 7}, {7, 257, 17}, {64, 64, 130}, {136, 72, 96}, {130, 65, 200},
                       {260, 300, 40}, {1100, 140, 24}, {150, 45, 600}};
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (int[] s : mnk)
                    for (int tr = 0; tr < 4; tr++) out.add(Arguments.of(d, t, s[0], s[1], s[2], (tr & 1) != 0, (tr & 2) != 0));
        });
        return out.stream();
    }

    static Stream<Arguments> devices() {
        return RowChecks.devices();
    }

    /** op(a)[m, k] of a stored as [M, K] or, transposed, [K, M]. */
    static double at(float[] a, int off, int rows, int cols, boolean trans, int i, int j) {
        return trans ? a[off + j * rows + i] : a[off + i * cols + j];
    }

    /** Reference of op(a) @ op(b) for one batch, with the magnitude sum |a| |b|. */
    static void product(float[] a, int ao, float[] b, int bo, int m, int n, int k, boolean ta, boolean tb, double[] v,
                        double[] mag, int oo) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0, sa = 0;
                for (int p = 0; p < k; p++) {
                    double t = at(a, ao, m, k, ta, i, p) * at(b, bo, k, n, tb, p, j);
                    s += t;
                    sa += Math.abs(t);
                }
                v[oo + i * n + j] = s;
                mag[oo + i * n + j] = sa + 1e-30;
            }
    }

    @ParameterizedTest(name = "{0} {1} m={2} n={3} k={4} transA={5} transB={6}")
    @MethodSource("cases")
    void matmul(Device device, DType dtype, int m, int n, int k, boolean ta, boolean tb) {
        try (Scope s = Scope.open()) {
            long[] as = ta ? new long[] {k, m} : new long[] {m, k}, bs = tb ? new long[] {n, k} : new long[] {k, n};
            Tensor a = tensor(device, dtype, normal(m * k, m + 7L * k, 0, 1), as);
            Tensor b = tensor(device, dtype, normal(k * n, n + 11L * k, 0, 1), bs);
            double[] v = new double[m * n], mag = new double[m * n];
            product(a.toFloatArray(), 0, b.toFloatArray(), 0, m, n, k, ta, tb, v, mag, 0);
            ActivationChecks.poisonNextAllocations(dtype, device, new long[] {m, n});
            Tensor c = F.matmul(a, b, ta, tb);
            double t = RowChecks.tol(dtype);
            Close.assertClose(v, c.toFloatArray(), t, i -> t * mag[i], "matmul " + dtype + " on " + device);
        }
    }

    /** a [2, 1, 5, 9] @ b [3, 9, 4] broadcasts to [2, 3, 5, 4]; a [5, 9] @ b [2, 3, 9, 4] too. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void broadcastBatch(Device device) {
        try (Scope s = Scope.open()) {
            float[] av = normal(2 * 5 * 9, 1, 0, 1), bv = normal(3 * 9 * 4, 2, 0, 1);
            Tensor c = F.matmul(Tensor.of(av, new long[] {2, 1, 5, 9}, device), Tensor.of(bv, new long[] {3, 9, 4}, device));
            org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {2, 3, 5, 4}, c.shape());
            double[] v = new double[2 * 3 * 20], mag = new double[v.length];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) product(av, i * 45, bv, j * 36, 5, 4, 9, false, false, v, mag, (i * 3 + j) * 20);
            Close.assertClose(v, c.toFloatArray(), 2e-5, i -> 2e-5 * mag[i], "broadcast matmul on " + device);
            float[] bw = normal(2 * 3 * 9 * 4, 3, 0, 1);
            float[] a2 = java.util.Arrays.copyOf(av, 45);
            Tensor c2 = F.matmul(Tensor.of(a2, new long[] {5, 9}, device), Tensor.of(bw, new long[] {2, 3, 9, 4}, device));
            double[] v2 = new double[6 * 20], mag2 = new double[v2.length];
            for (int z = 0; z < 6; z++) product(a2, 0, bw, z * 36, 5, 4, 9, false, false, v2, mag2, z * 20);
            Close.assertClose(v2, c2.toFloatArray(), 2e-5, i -> 2e-5 * mag2[i], "rank-2 @ batched on " + device);
        }
    }

    /**
     * linear with bias, an activation and a residual, then its backward against the reference
     * products; 17 outputs (element epilogue) and 24 (rows of 16-byte packs on the tensor cores).
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("linearCases")
    void linear(Device device, DType dtype, int out) {
        try (Scope s = Scope.open()) {
            int rows = 3 * 43, in = 33;
            Tensor x = tensor(device, dtype, normal(rows * in, 5, 0, 1), 3, 43, in);
            Tensor w = tensor(device, dtype, normal(out * in, 6, 0, 0.3), out, in);
            Tensor b = tensor(device, dtype, normal(out, 7, 0, 1), out);
            Tensor r = tensor(device, dtype, normal(rows * out, 8, 0, 1), 3, 43, out);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray(), rs = r.toFloatArray();
            double[] v = new double[rows * out], mag = new double[rows * out];
            product(xs, 0, ws, 0, rows, out, in, false, true, v, mag, 0);
            double[] plain = new double[v.length], fused = new double[v.length], fmag = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                plain[i] = v[i] + bs[i % out];
                double pre = plain[i];
                fused[i] = pre * (1 / (1 + Math.exp(-pre))) + rs[i];  // silu, then the residual
                fmag[i] = mag[i] + Math.abs(bs[i % out]) + Math.abs(rs[i]) + 1;
            }
            double t = RowChecks.tol(dtype);
            Close.assertClose(plain, F.linear(x, w, b).toFloatArray(), t, i -> t * (mag[i] + Math.abs(bs[i % out])),
                    "linear " + dtype + " on " + device);
            Close.assertClose(fused, F.linear(x, w, b, Act.silu(), r).toFloatArray(), t, i -> t * fmag[i],
                    "linear + silu + residual " + dtype + " on " + device);

            Tensor g = tensor(device, dtype, normal(rows * out, 9, 0, 1), 3, 43, out);
            float[] gs = g.toFloatArray();
            LinearGrads grads = F.linearBackward(x, w, g, true);
            double[] dx = new double[rows * in], dxm = new double[dx.length];
            product(gs, 0, ws, 0, rows, in, out, false, false, dx, dxm, 0);
            double[] dw = new double[out * in], dwm = new double[dw.length];
            product(gs, 0, xs, 0, out, in, rows, true, false, dw, dwm, 0);
            double[] db = new double[out], dbm = new double[out];
            for (int i = 0; i < rows * out; i++) {
                db[i % out] += gs[i];
                dbm[i % out] += Math.abs(gs[i]);
            }
            Close.assertClose(dx, grads.input().toFloatArray(), t, i -> t * dxm[i], "linear grad_x " + dtype + " on " + device);
            Close.assertClose(dw, grads.weight().toFloatArray(), t, i -> t * dwm[i], "linear grad_weight " + dtype + " on " + device);
            Close.assertClose(db, grads.bias().toFloatArray(), t, i -> t * dbm[i], "linear grad_bias " + dtype + " on " + device);
        }
    }

    /**
     * The cpu backend's blocking: rows enough for several runs of M blocks per task (and the cap on
     * a run's rows), N past one block, K past one block, with the full epilogue, f32 and bf16.
     */
    @org.junit.jupiter.api.Test
    void tallLinearOnCpu() {
        for (DType dtype : new DType[] {DType.F32, DType.BF16})
            try (Scope s = Scope.open()) {
                int rows = 2600, in = 300, out = 530;
                Device cpu = Device.CPU;
                Tensor x = tensor(cpu, dtype, normal(rows * in, 15, 0, 1), rows, in);
                Tensor w = tensor(cpu, dtype, normal(out * in, 16, 0, 0.1), out, in);
                Tensor b = tensor(cpu, dtype, normal(out, 17, 0, 1), out);
                Tensor r = tensor(cpu, dtype, normal(rows * out, 18, 0, 1), rows, out);
                float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray(), rs = r.toFloatArray();
                double[] v = new double[rows * out], mag = new double[rows * out];
                product(xs, 0, ws, 0, rows, out, in, false, true, v, mag, 0);
                for (int i = 0; i < v.length; i++) {
                    double pre = v[i] + bs[i % out];
                    v[i] = Math.max(pre, 0) + rs[i];
                    mag[i] += Math.abs(bs[i % out]) + Math.abs(rs[i]);
                }
                double t = RowChecks.tol(dtype);
                Close.assertClose(v, F.linear(x, w, b, Act.relu(), r).toFloatArray(), t, i -> t * mag[i],
                        "tall linear + relu + residual " + dtype + " on cpu");
            }
    }

    static Stream<Arguments> linearCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (int n : new int[] {17, 24}) out.add(Arguments.of(d, t, n));
        });
        return out.stream();
    }
}
