package org.deepkern.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.Stream;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.CouplingGrads;
import org.deepkern.ops.F;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused affine coupling (F.affineCouplingForward / Inverse / Backward) against a double
 * reference written here: s = sigmoid(raw + 2), y = (x + t) s, x = y / s - t, logdet = sum log s,
 * dx = dt = dy s, draw = (dy (x + t) s + dlogdet)(1 - s). Row sizes for every packing of rows into
 * warps (1, 2, 3, 8, 9, 17 elements) and around the 32-lane row walk (31, 32, 33, 100), sample
 * counts that leave the last warp part-filled; f32 and the 16-bit dtypes.
 */
class FlowCouplingTest {
    static Stream<Device> devices() {
        return TestDevices.host();
    }

    static double sigmoid(double a) {
        return 1 / (1 + Math.exp(-a));
    }

    static float[] randn(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }

    static float[] rounded(float[] v, DType dtype, Device device) {
        try (Tensor t = Tensor.of(v, new long[] {v.length}, device); Tensor c = t.to(dtype); Tensor b = c.to(DType.F32)) {
            return b.toFloatArray();
        }
    }

    static void close(float[] expect, float[] got, double rtol, double atol, String what) {
        assertEquals(expect.length, got.length, what);
        for (int i = 0; i < expect.length; i++) {
            assertFalse(Float.isNaN(got[i]), what + " NaN at " + i);
            assertTrue(Math.abs(expect[i] - got[i]) <= atol + rtol * Math.abs(expect[i]),
                    what + " at " + i + ": expected " + expect[i] + ", got " + got[i]);
        }
    }

    static float[] f(double[] d) {
        float[] o = new float[d.length];
        for (int i = 0; i < d.length; i++) o[i] = (float) d[i];
        return o;
    }

    @ParameterizedTest
    @MethodSource("devices")
    void matchesDoubleReference(Device device) {
        // rows of m elements pack 32 / L to a warp (L the power of two >= m, up to 32): counts that
        // do not fill the last warp, and each packing
        int[][] shapes = {{1, 1}, {5, 1}, {37, 1}, {130, 2}, {41, 3}, {23, 8}, {19, 9}, {70, 17}, {3, 31}, {4, 32},
                {9, 33}, {2, 100}, {0, 7}, {6, 0}};
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            double rtol = dtype == DType.F32 ? 2e-5 : 1e-2, atol = dtype == DType.F32 ? 2e-5 : 2e-2;
            for (int[] nm : shapes) {
                int n = nm[0], m = nm[1];
                Random r = new Random(31L * n + m);
                float[] x = rounded(randn(r, n * m, 1.5), dtype, device);
                float[] h = rounded(randn(r, n * 2 * m, 2.0), dtype, device);
                float[] gy = rounded(randn(r, n * m, 1.0), dtype, device);
                float[] gl = randn(r, n, 1.0);
                float[] ld0 = randn(r, n, 3.0);
                double[] y = new double[n * m], xi = new double[n * m], ld = new double[n], ldi = new double[n];
                double[] gx = new double[n * m], gh = new double[n * 2 * m];
                for (int i = 0; i < n; i++) {
                    double sum = 0;
                    for (int j = 0; j < m; j++) {
                        double t = h[i * 2 * m + j], raw = h[i * 2 * m + m + j], s = sigmoid(raw + 2), v = x[i * m + j];
                        y[i * m + j] = (v + t) * s;
                        xi[i * m + j] = v / s - t;
                        sum += Math.log(s);
                        double g = gy[i * m + j];
                        gx[i * m + j] = g * s;
                        gh[i * 2 * m + j] = g * s;
                        gh[i * 2 * m + m + j] = (g * (v + t) * s + gl[i]) * (1 - s);
                    }
                    ld[i] = ld0[i] + sum;
                    ldi[i] = ld0[i] - sum;
                }
                String what = dtype + " [" + n + ", " + m + "] on " + device;
                try (Scope scope = Scope.open()) {
                    Tensor xt = Tensor.of(x, new long[] {n, m}, device).to(dtype);
                    Tensor ht = Tensor.of(h, new long[] {n, 2 * m}, device).to(dtype);
                    Tensor gyt = Tensor.of(gy, new long[] {n, m}, device).to(dtype);
                    Tensor glt = Tensor.of(gl, new long[] {n}, device);
                    Tensor ldt = Tensor.of(ld0, new long[] {n}, device);
                    Tensor yt = F.affineCouplingForward(xt, ht, ldt);
                    close(f(y), yt.to(DType.F32).toFloatArray(), rtol, atol, "y " + what);
                    close(f(ld), ldt.toFloatArray(), 1e-5, 1e-4 * Math.max(1, m), "logdet " + what);
                    Tensor ldi0 = Tensor.of(ld0, new long[] {n}, device);
                    Tensor back = F.affineCouplingInverse(xt, ht, ldi0);
                    close(f(xi), back.to(DType.F32).toFloatArray(), rtol, atol * 10, "inverse " + what);
                    close(f(ldi), ldi0.toFloatArray(), 1e-5, 1e-4 * Math.max(1, m), "inverse logdet " + what);
                    CouplingGrads g = F.affineCouplingBackward(xt, ht, gyt, glt);
                    close(f(gx), g.x().to(DType.F32).toFloatArray(), rtol, atol, "grad x " + what);
                    close(f(gh), g.h().to(DType.F32).toFloatArray(), rtol, atol, "grad h " + what);
                    // without a log-det: the same y; without its gradient: draw from dy alone
                    Tensor y2 = F.affineCouplingForward(xt, ht, null);
                    assertArrayEquals(yt.to(DType.F32).toFloatArray(), y2.to(DType.F32).toFloatArray(), what);
                }
            }
        }
    }

    /** An image-shaped coupling: h [N, 2C', H, W] is [shift channels | raw channels]. */
    @ParameterizedTest
    @MethodSource("devices")
    void imageLayout(Device device) {
        int n = 3, c = 3, hh = 5, w = 7, m = c * hh * w;
        Random r = new Random(7);
        float[] x = randn(r, n * m, 1), h = randn(r, n * 2 * m, 1);
        try (Scope scope = Scope.open()) {
            Tensor xt = Tensor.of(x, new long[] {n, c, hh, w}, device);
            Tensor ht = Tensor.of(h, new long[] {n, 2 * c, hh, w}, device);
            Tensor ld = Tensor.zeros(new long[] {n}, DType.F32, device);
            float[] y = F.affineCouplingForward(xt, ht, ld).toFloatArray();
            float[] l = ld.toFloatArray();
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int j = 0; j < m; j++) {
                    double s = sigmoid(h[i * 2 * m + m + j] + 2);
                    sum += Math.log(s);
                    double e = (x[i * m + j] + h[i * 2 * m + j]) * s;
                    assertEquals(e, y[i * m + j], 1e-5 + 1e-5 * Math.abs(e));
                }
                assertEquals(sum, l[i], 1e-4);
            }
        }
    }

    /** log s stays finite where s underflows (raw very negative): log sigmoid(a) is computed stably. */
    @ParameterizedTest
    @MethodSource("devices")
    void logScaleStable(Device device) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1}, new long[] {1, 1}, device);
            Tensor h = Tensor.of(new float[] {0, -200}, new long[] {1, 2}, device);
            Tensor ld = Tensor.zeros(new long[] {1}, DType.F32, device);
            F.affineCouplingForward(x, h, ld);
            assertEquals(-198, ld.toFloatArray()[0], 1e-3);
        }
    }

    /** The log-det is reduced in a fixed order: the same bits on every run, and cpu and emu agree bit for bit. */
    @ParameterizedTest
    @MethodSource("devices")
    void logDetDeterministic(Device device) {
        logDetDeterministic(device, 37, 1000);
        logDetDeterministic(device, 101, 5);
    }

    static void logDetDeterministic(Device device, int n, int m) {
        Random r = new Random(3);
        float[] x = randn(r, n * m, 1), h = randn(r, n * 2 * m, 3);
        float[] first = null;
        for (int rep = 0; rep < 5; rep++) {
            try (Scope scope = Scope.open()) {
                Tensor xt = Tensor.of(x, new long[] {n, m}, device), ht = Tensor.of(h, new long[] {n, 2 * m}, device);
                Tensor ld = Tensor.zeros(new long[] {n}, DType.F32, device);
                F.affineCouplingForward(xt, ht, ld);
                float[] got = ld.toFloatArray();
                if (first == null) first = got;
                else assertArrayEquals(first, got, "run " + rep + " on " + device);
            }
        }
        if (device.type() == Device.Type.CUDA) return;  // the GPU's expf / log1pf differ from the host's in the last bit
        try (Scope scope = Scope.open()) {
            Tensor xt = Tensor.of(x, new long[] {n, m}, Device.CPU), ht = Tensor.of(h, new long[] {n, 2 * m}, Device.CPU);
            Tensor ld = Tensor.zeros(new long[] {n}, DType.F32, Device.CPU);
            F.affineCouplingForward(xt, ht, ld);
            assertArrayEquals(ld.toFloatArray(), first, "cpu and " + device + " give the same bits");
        }
    }

    /** The emulator's every thread schedule gives the same log-det bits (the reduction is a fixed butterfly). */
    @org.junit.jupiter.api.Test
    void logDetSameInEveryEmuSchedule() {
        logDetSameInEveryEmuSchedule(13, 77);
        logDetSameInEveryEmuSchedule(45, 6);
    }

    static void logDetSameInEveryEmuSchedule(int n, int m) {
        Random r = new Random(9);
        float[] x = randn(r, n * m, 1), h = randn(r, n * 2 * m, 3);
        org.deepkern.testing.EmuSchedules.sameInEveryOrder("coupling log-det", 1234, () -> {
            try (Scope scope = Scope.open()) {
                Tensor xt = Tensor.of(x, new long[] {n, m}, Device.EMU), ht = Tensor.of(h, new long[] {n, 2 * m}, Device.EMU);
                Tensor ld = Tensor.zeros(new long[] {n}, DType.F32, Device.EMU);
                F.affineCouplingForward(xt, ht, ld);
                return ld.toFloatArray();
            }
        });
    }

    /** 2^40 samples of no elements: nothing to write and nothing to loop over. */
    @ParameterizedTest
    @MethodSource("devices")
    void manyEmptySamples(Device device) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {1L << 40, 0}, DType.F32, device);
            Tensor h = Tensor.zeros(new long[] {1L << 40, 0}, DType.F32, device);
            assertArrayEquals(new long[] {1L << 40, 0}, F.affineCouplingForward(x, h, null).shape());
            assertArrayEquals(new long[] {1L << 40, 0}, F.affineCouplingInverse(x, h, null).shape());
            CouplingGrads g = F.affineCouplingBackward(x, h, x, null);
            assertArrayEquals(new long[] {1L << 40, 0}, g.h().shape());
        }
    }
}
