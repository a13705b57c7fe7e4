package org.deepkern.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The YOLO and CenterNet decoders against DecodeReference (double precision) on every host device,
 * f32 and bf16 heads. The outputs are f32 from f32 math on the heads' exact values, so the judge
 * reads the heads back in their dtype and allows f32 rounding (a few ulp of the image's extent).
 */
class DecodeTest {
    private static final int N = 2;
    private static final int[][] LEVELS = {{5, 7}, {3, 4}, {2, 2}};
    private static final double[] STRIDES = {8, 16, 32};
    private static final double[][] ANCHORS = {{10, 13, 16, 30, 33, 23}, {30, 61, 62, 45, 59, 119}, {116, 90, 156, 198, 373, 326}};

    static Stream<Arguments> yoloCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (int version : new int[] {3, 5, 8})
                for (int k : new int[] {3, 80})
                    for (DType t : new DType[] {DType.F32, DType.BF16}) out.add(Arguments.of(d, version, k, t));
        });
        return out.stream();
    }

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    /** A random head [n, c, h, w] in dtype t and its values as read back. */
    static Tensor head(Random r, Device d, DType t, double spread, long... shape) {
        int count = 1;
        for (long e : shape) count *= (int) e;
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) (spread * (2 * r.nextDouble() - 1));
        try (Tensor f = Tensor.of(v, shape, d)) {
            return t == DType.F32 ? f.clone() : f.to(t);
        }
    }

    static float[] values(Tensor t) {
        try (Tensor f = t.to(DType.F32)) {
            return f.toFloatArray();
        }
    }

    /** Asserts got (f32 outputs) against the reference, positions within tolerance * (|want| + extent). */
    static void assertDecoded(DecodeReference.Decoded want, Detections got, double extent, String what) {
        int n = want.scores().length, p = want.scores()[0].length;
        assertArrayEquals(new long[] {n, p, 4}, got.boxes().shape(), what + ": boxes' shape");
        assertArrayEquals(new long[] {n, p}, got.scores().shape(), what + ": scores' shape");
        assertArrayEquals(new long[] {n, p}, got.classes().shape(), what + ": classes' shape");
        assertEquals(DType.F32, got.boxes().dtype());
        assertEquals(DType.I64, got.classes().dtype());
        float[] boxes = got.boxes().toFloatArray(), scores = got.scores().toFloatArray();
        long[] classes = got.classes().toLongArray();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < p; j++) {
                String at = what + " [" + i + ", " + j + "]";
                assertEquals(want.classes()[i][j], classes[i * p + j], at + " class");
                close(want.scores()[i][j], scores[i * p + j], 1e-5, 1, at + " score");
                for (int c = 0; c < 4; c++) close(want.boxes()[i][j][c], boxes[(i * p + j) * 4 + c], 1e-5, extent, at + " box " + c);
            }
    }

    static void close(double want, float got, double rtol, double extent, String what) {
        double tol = rtol * (Math.abs(want) + extent);
        if (!(Math.abs(got - want) <= tol)) fail(what + ": expected " + want + ", got " + got + " (tolerance " + tol + ")");
    }

    @ParameterizedTest(name = "{0} v{1} K={2} {3}")
    @MethodSource("yoloCases")
    void yoloMatchesPublishedFormulas(Device d, int version, int k, DType t) {
        Random r = new Random(version * 100L + k);
        int regMax = Decoders.REG_MAX, anchors = version == 8 ? 1 : 3;
        int channels = version == 8 ? 4 * regMax + k : anchors * (5 + k);
        try (Scope s = Scope.open()) {
            List<Tensor> heads = new ArrayList<>();
            float[][] flat = new float[LEVELS.length][];
            for (int l = 0; l < LEVELS.length; l++) {
                heads.add(head(r, d, t, 4, N, channels, LEVELS[l][0], LEVELS[l][1]));
                flat[l] = values(heads.get(l));
            }
            Detections got = switch (version) {
                case 3 -> Decoders.yoloV3(heads, STRIDES, ANCHORS, k);
                case 5 -> Decoders.yoloV5(heads, STRIDES, ANCHORS, k);
                default -> Decoders.yoloV8(heads, STRIDES, k);
            };
            DecodeReference.Decoded want = DecodeReference.yolo(version, flat, LEVELS, N, STRIDES, version == 8 ? null : ANCHORS, k, regMax);
            // v3's exp(tw) anchors reach a few thousand pixels at tw = 4
            assertDecoded(want, got, version == 3 ? 2e4 : 300, "v" + version);
        }
    }

    /** One level, one image, other anchor counts and a DFL of 4 bins. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void oneLevelOtherShapes(Device d) {
        Random r = new Random(3);
        try (Scope s = Scope.open()) {
            Tensor h5 = head(r, d, DType.F32, 3, 1, 2 * (5 + 1), 1, 3);
            double[][] anchors = {{4, 5, 6, 7}};
            var want = DecodeReference.yolo(5, new float[][] {values(h5)}, new int[][] {{1, 3}}, 1, new double[] {4}, anchors, 1, 0);
            assertDecoded(want, Decoders.yoloV5(List.of(h5), new double[] {4}, anchors, 1), 100, "v5, A = 2, K = 1");
            Tensor h8 = head(r, d, DType.F16, 3, 3, 4 * 4 + 2, 2, 1);
            var want8 = DecodeReference.yolo(8, new float[][] {values(h8)}, new int[][] {{2, 1}}, 3, new double[] {2.5}, null, 2, 4);
            assertDecoded(want8, Decoders.yoloV8(List.of(h8), new double[] {2.5}, 2, 4), 100, "v8, reg_max 4, f16");
            // no images: empty outputs
            Tensor empty = head(r, d, DType.F32, 1, 0, 4 * 16 + 3, 2, 2);
            try (Detections none = Decoders.yoloV8(List.of(empty), new double[] {8}, 3)) {
                assertArrayEquals(new long[] {0, 4, 4}, none.boxes().shape());
            }
        }
    }

    /** Logits on a 1/16 grid in [-6, 4]: exact in bf16, with many exact ties, and distinct ones far apart after sigmoid. */
    static Tensor gridHeat(Random r, Device d, DType t, int n, int c, int h, int w) {
        float[] v = new float[n * c * h * w];
        for (int i = 0; i < v.length; i++) v[i] = (r.nextInt(161) - 96) / 16f;
        try (Tensor f = Tensor.of(v, new long[] {n, c, h, w}, d)) {
            return t == DType.F32 ? f.clone() : f.to(t);
        }
    }

    static Stream<Arguments> centerNetCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(dev -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (int k : new int[] {1, 7, 40, 105}) out.add(Arguments.of(dev, t, k));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} k={2}")
    @MethodSource("centerNetCases")
    void centerNetMatchesReference(Device d, DType t, int k) {
        Random r = new Random(k);
        int c = 3, h = 5, w = 7;
        try (Scope s = Scope.open()) {
            Tensor heat = gridHeat(r, d, t, N, c, h, w);
            Tensor wh = head(r, d, t, 20, N, 2, h, w).add(20), off = head(r, d, t, 0.5, N, 2, h, w).add(0.5);
            var want = DecodeReference.centerNet(values(heat), values(wh), values(off), N, c, h, w, k, 4);
            assertDecoded(want, Decoders.centerNet(heat, wh, off, k, 4), 200, "centerNet");
            var noOffset = DecodeReference.centerNet(values(heat), values(wh), null, N, c, h, w, k, 2.5);
            assertDecoded(noOffset, Decoders.centerNet(heat, wh, null, k, 2.5), 200, "centerNet without offsets");
        }
    }

    /** Plateaus keep every equal value, ties go to the lower flat index (lower class first), zero scores fill in. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void centerNetPlateausTiesAndFill(Device d) {
        // 2 classes of 3 x 4: class 0 has a plateau of two 2.0s (both peaks) at cells 0, 1 and a lone
        // 1.0 at cell 7; class 1 a 2.0 at cell 0 (a tie across classes) and a 3.0 at cell 11. Every
        // other logit falls away from the corner (-5 - (x + y) / 2), so it has a larger neighbour.
        float[] heat = new float[24];
        for (int i = 0; i < 24; i++) heat[i] = -5 - (i % 4 + i % 12 / 4) / 2f;
        heat[0] = heat[1] = heat[12] = 2;
        heat[7] = 1;
        heat[23] = 3;
        float[] wh = new float[2 * 12];
        for (int i = 0; i < wh.length; i++) wh[i] = 1 + i;
        try (Scope s = Scope.open()) {
            Tensor ht = Tensor.of(heat, new long[] {1, 2, 3, 4}, d), wt = Tensor.of(wh, new long[] {1, 2, 3, 4}, d);
            Detections got = Decoders.centerNet(ht, wt, null, 24, 1);
            long[] classes = got.classes().toLongArray();
            float[] scores = got.scores().toFloatArray(), boxes = got.boxes().toFloatArray();
            float s3 = (float) DecodeReference.sigmoid(3), s2 = (float) DecodeReference.sigmoid(2), s1 = (float) DecodeReference.sigmoid(1);
            // 3.0 (class 1, cell 11); the three 2.0s by flat index: 0, 1 (plateau), 12 (class 1, cell 0); 1.0 (cell 7)
            assertArrayEquals(new long[] {1, 0, 0, 1, 0}, java.util.Arrays.copyOf(classes, 5));
            assertArrayEquals(new float[] {s3, s2, s2, s2, s1}, java.util.Arrays.copyOf(scores, 5), 1e-6f);
            // then every non-peak with score 0, by flat index: class 0's cells 2..6, 8..11, class 1's 1..10
            long[] fillClasses = new long[19];
            for (int i = 9; i < 19; i++) fillClasses[i] = 1;
            assertArrayEquals(fillClasses, java.util.Arrays.copyOfRange(classes, 5, 24));
            for (int i = 5; i < 24; i++) assertEquals(0f, scores[i], "fill " + i);
            // the fill's first slot is class 0, cell 2 (x 2, y 0): its wh (3, 15) around (2.5, 0.5)
            assertArrayEquals(new float[] {1, -7, 4, 8}, java.util.Arrays.copyOfRange(boxes, 20, 24), 1e-6f);
            // the plateau's second slot is cell 1 (x 1, y 0), wh (2, 14)
            assertArrayEquals(new float[] {0.5f, -6.5f, 2.5f, 7.5f}, java.util.Arrays.copyOfRange(boxes, 8, 12), 1e-6f);
        }
    }

    /** The top-K block's shared histogram, ranks and sort: any thread order, one result. */
    @Test
    void centerNetInEveryEmuOrder() {
        EmuSchedules.assumeEmu();
        Random r = new Random(5);
        try (Scope s = Scope.open()) {
            Tensor heat = gridHeat(r, Device.EMU, DType.F32, 2, 4, 33, 40);
            Tensor wh = head(r, Device.EMU, DType.F32, 5, 2, 2, 33, 40);
            float[][] got = EmuSchedules.sameInEveryOrder("centerNet", 13, 2, 0, () -> {
                try (Detections det = Decoders.centerNet(heat, wh, null, 300, 4)) {
                    long[] cl = det.classes().toLongArray();
                    float[] clf = new float[cl.length];
                    for (int i = 0; i < cl.length; i++) clf[i] = cl[i];
                    return new float[][] {det.boxes().toFloatArray(), clf};
                }
            });
            var want = DecodeReference.centerNet(values(heat), values(wh), null, 2, 4, 33, 40, 300, 4);
            for (int img = 0; img < 2; img++)
                for (int i = 0; i < 300; i++) {
                    int o = img * 300 + i;
                    assertEquals(want.classes()[img][i], (long) got[1][o], "class of slot " + o);
                    for (int c = 0; c < 4; c++) close(want.boxes()[img][i][c], got[0][4 * o + c], 1e-5, 200, "box of slot " + o);
                }
        }
    }
}
