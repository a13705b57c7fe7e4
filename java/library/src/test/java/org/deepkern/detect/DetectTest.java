package org.deepkern.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.EmuSchedules;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Box conversions, areas, clipping, IoU and NMS against DetectReference, on every host device. No
 * torchvision oracle: the JavaCPP PyTorch presets do not carry torchvision's ops.
 */
class DetectTest {
    /** Relative tolerance of a result rounded to dtype from exact f32 math on its (exact) inputs. */
    static double rtol(DType t) {
        return t == DType.F32 ? 2e-6 : t == DType.F16 ? 1.5e-3 : 1.2e-2;
    }

    static void assertClose(double[] want, float[] got, DType t, double scale, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i])) {
                assertTrue(Float.isNaN(got[i]), what + " [" + i + "]: expected NaN, got " + got[i]);
                continue;
            }
            double err = Math.abs(got[i] - want[i]), tol = rtol(t) * (Math.abs(want[i]) + 1e-3 * scale);
            if (!(err <= tol)) fail(what + " [" + i + "]: expected " + want[i] + ", got " + got[i] + " (tolerance " + tol + ")");
        }
    }

    /** n random xyxy boxes on an integer grid (so every IoU is a small rational), some of zero width or height. */
    static float[] gridBoxes(Random r, int n, int extent) {
        float[] b = new float[4 * n];
        for (int i = 0; i < n; i++) {
            int x = r.nextInt(extent), y = r.nextInt(extent);
            int w = r.nextInt(8) == 0 ? 0 : 1 + r.nextInt(extent / 3), h = r.nextInt(8) == 0 ? 0 : 1 + r.nextInt(extent / 3);
            b[4 * i] = x;
            b[4 * i + 1] = y;
            b[4 * i + 2] = x + w;
            b[4 * i + 3] = y + h;
        }
        return b;
    }

    /** n random xyxy boxes with continuous coordinates in [0, 100). */
    static float[] realBoxes(Random r, int n) {
        float[] b = new float[4 * n];
        for (int i = 0; i < n; i++) {
            float x = 100 * r.nextFloat(), y = 100 * r.nextFloat();
            b[4 * i] = x;
            b[4 * i + 1] = y;
            b[4 * i + 2] = x + 30 * r.nextFloat();
            b[4 * i + 3] = y + 30 * r.nextFloat();
        }
        return b;
    }

    static double[][] rows(float[] flat) {
        double[][] out = new double[flat.length / 4][4];
        for (int i = 0; i < flat.length; i++) out[i / 4][i % 4] = flat[i];
        return out;
    }

    static Tensor tensor(float[] v, long[] shape, DType t, Device d) {
        try (Tensor f = Tensor.of(v, shape, d)) {
            return t == DType.F32 ? f.clone() : f.to(t);
        }
    }

    static Stream<Arguments> devicesAndDtypes() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES) out.add(Arguments.of(d, t));
        });
        return out.stream();
    }

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndDtypes")
    void conversionsAreaAndClip(Device d, DType t) {
        Random r = new Random(7);
        for (long[] shape : new long[][] {{0, 4}, {1, 4}, {4}, {37, 4}, {2, 3, 5, 4}}) {
            int n = 1;
            for (long e : shape) n *= (int) e;
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (200 * r.nextDouble() - 50);
            if (n > 8) v[5] = Float.NaN;
            try (Scope s = Scope.open()) {
                Tensor boxes = tensor(v, shape, t, d);
                double[][] in = rows(boxes.toFloatArray());
                for (BoxFormat from : BoxFormat.values())
                    for (BoxFormat to : BoxFormat.values()) {
                        Tensor got = Detect.boxConvert(boxes, from, to);
                        assertArrayEquals(shape, got.shape());
                        double[] want = new double[n];
                        for (int i = 0; i < in.length; i++) System.arraycopy(DetectReference.convert(in[i], from, to), 0, want, 4 * i, 4);
                        assertClose(want, got.toFloatArray(), t, 200, "convert " + from + " -> " + to + " " + shape.length);
                    }
                Tensor area = Detect.boxArea(boxes);
                long[] areaShape = java.util.Arrays.copyOf(shape, shape.length - 1);
                assertArrayEquals(areaShape, area.shape());
                double[] wantArea = new double[in.length], wantClip = new double[n];
                for (int i = 0; i < in.length; i++) {
                    wantArea[i] = DetectReference.area(in[i]);
                    for (int k = 0; k < 4; k++) wantClip[4 * i + k] = DetectReference.clamp(in[i][k], k % 2 == 0 ? 90 : 60);
                }
                assertClose(wantArea, area.toFloatArray(), t, 4e4, "area");
                assertClose(wantClip, Detect.clipBoxes(boxes, 60, 90).toFloatArray(), t, 200, "clip");
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndDtypes")
    void iou(Device d, DType t) {
        Random r = new Random(11);
        for (int[] nm : new int[][] {{0, 3}, {3, 0}, {1, 1}, {13, 29}, {70, 65}}) {
            float[] a = r.nextBoolean() ? gridBoxes(r, nm[0], 40) : realBoxes(r, nm[0]);
            float[] b = gridBoxes(r, nm[1], 40);
            if (nm[0] > 2 && nm[1] > 2) {
                System.arraycopy(a, 0, b, 4, 4);                          // an identical pair: IoU 1
                for (int k = 0; k < 4; k++) a[8 + k] = b[8 + k] = 5;      // two zero-area boxes: 0 / 0 = NaN
            }
            try (Scope s = Scope.open()) {
                Tensor ta = tensor(a, new long[] {nm[0], 4}, t, d), tb = tensor(b, new long[] {nm[1], 4}, t, d);
                double[][] ra = rows(ta.toFloatArray()), rb = rows(tb.toFloatArray());
                Tensor got = Detect.boxIou(ta, tb);
                assertArrayEquals(new long[] {nm[0], nm[1]}, got.shape());
                double[] want = new double[nm[0] * nm[1]];
                for (int i = 0; i < nm[0]; i++)
                    for (int j = 0; j < nm[1]; j++) want[i * nm[1] + j] = DetectReference.iou(ra[i], rb[j]);
                assertClose(want, got.toFloatArray(), t, 1, "iou " + nm[0] + "x" + nm[1]);
                if (nm[0] > 2 && nm[1] > 2) {
                    float[] g = got.toFloatArray();
                    if (DetectReference.area(ra[0]) > 0) assertEquals(1f, g[1], "identical boxes");
                    assertTrue(Float.isNaN(g[2 * nm[1] + 2]), "two zero-area boxes: 0 / 0 = NaN, as torchvision");
                }
            }
        }
    }

    /** Scores with ties, -0 and +0, and (where nan) NaNs. */
    static float[] scores(Random r, int n, boolean nan) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(12);
            s[i] = k == 0 ? -0f : k == 1 && nan ? Float.NaN : k == 2 ? 0f : r.nextInt(3) == 0 ? r.nextInt(8) / 4f : r.nextFloat();
        }
        return s;
    }

    static long[] nms(Device d, float[] boxes, float[] scores, long[] classes, boolean classes32, double threshold) {
        int n = scores.length;
        try (Scope s = Scope.open()) {
            Tensor b = Tensor.of(boxes, new long[] {n, 4}, d), sc = Tensor.of(scores, new long[] {n}, d);
            if (classes == null) return Detect.nms(b, sc, threshold).toLongArray();
            Tensor c;
            if (classes32) {
                int[] c32 = new int[n];
                for (int i = 0; i < n; i++) c32[i] = (int) classes[i];
                c = Tensor.of(c32, new long[] {n}, d);
            } else {
                c = Tensor.of(classes, new long[] {n}, d);
            }
            return Detect.batchedNms(b, sc, c, threshold).toLongArray();
        }
    }

    static void checkNms(Device d, float[] boxes, float[] scores, long[] classes, boolean classes32, double threshold, String what) {
        double[] sd = new double[scores.length];
        for (int i = 0; i < sd.length; i++) sd[i] = scores[i];
        long[] want = DetectReference.nms(rows(boxes), sd, classes, threshold);
        assertArrayEquals(want, nms(d, boxes, scores, classes, classes32, threshold), what);
    }

    static Stream<Arguments> nmsCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (int n : new int[] {0, 1, 2, 5, 63, 64, 65, 200, 1500})
                for (double thr : new double[] {0.5, 0.25, 0.75, 0.0, 1.0, -0.5}) out.add(Arguments.of(d, n, thr));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} n={1} threshold={2}")
    @MethodSource("nmsCases")
    void nmsMatchesGreedyReference(Device d, int n, double thr) {
        Random r = new Random(31L * n + Double.hashCode(thr));
        float[] grid = gridBoxes(r, n, n < 100 ? 16 : 64);
        for (int i = 3; i + 1 < n; i += 7) System.arraycopy(grid, 4 * i, grid, 4 * (i + 1), 4);  // identical boxes
        float[] s = scores(r, n, true);
        checkNms(d, grid, s, null, false, thr, "grid boxes");
        if (thr == 0.5 || thr == 0.25) checkNms(d, realBoxes(r, n), scores(r, n, false), null, false, thr + 0.05, "real boxes");
        long[] classes = new long[n];
        for (int i = 0; i < n; i++) classes[i] = r.nextInt(4) - 1;
        checkNms(d, grid, s, classes, false, thr, "batched, i64 classes");
        checkNms(d, grid, s, classes, true, thr, "batched, i32 classes");
    }

    /** The documented decisions, pinned on small hand-made cases. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void nanTiesAndZeroArea(Device d) {
        float[] apart = {0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21, 30, 30, 31, 31};
        // NaN scores come first (torch.sort descending takes NaN as the largest), by index among themselves
        assertArrayEquals(new long[] {1, 3, 2, 0}, nms(d, apart, new float[] {1, Float.NaN, 2, Float.NaN}, null, false, 0.5));
        // equal scores, -0 and +0 included: lower index first
        assertArrayEquals(new long[] {0, 2, 1, 3}, nms(d, apart, new float[] {3, -0f, 3, 0f}, null, false, 0.5));
        float[] same = {0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2};
        // identical boxes: the best (a NaN) keeps, ties go to the lower index
        assertArrayEquals(new long[] {2}, nms(d, same, new float[] {5, 1, Float.NaN}, null, false, 0.5));
        assertArrayEquals(new long[] {1}, nms(d, same, new float[] {1, 4, 4}, null, false, 0.99));
        // IoU = 1 is not strictly above a threshold of 1
        assertArrayEquals(new long[] {0, 1, 2}, nms(d, same, new float[] {3, 2, 1}, null, false, 1.0));
        // zero-area boxes: IoU 0 / 0 = NaN suppresses nothing, even below a negative threshold
        float[] dots = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8};
        assertArrayEquals(new long[] {0, 1, 2}, nms(d, dots, new float[] {3, 2, 1}, null, false, -1.0));
        // batched: identical boxes of different classes both stay
        assertArrayEquals(new long[] {2, 0}, nms(d, same, new float[] {1, 0.5f, 2}, new long[] {7, 3, 3}, false, 0.5));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void manyBoxes(Device d) {
        int n = d.type() == Device.Type.CPU ? 20000 : 4000;
        Random r = new Random(5);
        float[] boxes = gridBoxes(r, n, 400);
        float[] s = scores(r, n, true);
        checkNms(d, boxes, s, null, false, 0.5, n + " boxes");
        long[] classes = new long[n];
        for (int i = 0; i < n; i++) classes[i] = r.nextInt(20);
        checkNms(d, boxes, s, classes, false, 0.5, n + " boxes, batched");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndDtypes")
    void nmsInHalfPrecision(Device d, DType t) {
        Random r = new Random(3);
        int n = 300;
        float[] grid = gridBoxes(r, n, 64);
        float[] s = scores(r, n, true);
        for (int i = 0; i < n; i++) s[i] = Float.isNaN(s[i]) ? s[i] : Math.round(s[i] * 64) / 64f;  // exact in every dtype
        double[] sd = new double[n];
        for (int i = 0; i < n; i++) sd[i] = s[i];
        long[] want = DetectReference.nms(rows(grid), sd, null, 0.5);
        try (Scope sc = Scope.open()) {
            long[] got = Detect.nms(tensor(grid, new long[] {n, 4}, t, d), tensor(s, new long[] {n}, t, d), 0.5).toLongArray();
            assertArrayEquals(want, got);
        }
    }

    /** The kernels' threads share memory (the sort's tiles, the mask's column tile, the walk's bits): any thread order, one result. */
    @Test
    void nmsInEveryEmuOrder() {
        EmuSchedules.assumeEmu();
        Device emu = Device.EMU;
        Random r = new Random(9);
        int n = 2500;
        float[] boxes = gridBoxes(r, n, 200);
        float[] s = scores(r, n, true);
        long[] classes = new long[n];
        for (int i = 0; i < n; i++) classes[i] = r.nextInt(3);
        float[] kept = EmuSchedules.sameInEveryOrder("batched nms", 17, () -> {
            long[] k = nms(emu, boxes, s, classes, false, 0.4);
            float[] f = new float[k.length];
            for (int i = 0; i < k.length; i++) f[i] = k[i];
            return f;
        });
        double[] sd = new double[n];
        for (int i = 0; i < n; i++) sd[i] = s[i];
        long[] want = DetectReference.nms(rows(boxes), sd, classes, 0.4);
        assertEquals(want.length, kept.length);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], (long) kept[i]);
    }
}
