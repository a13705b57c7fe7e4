package org.deepkern.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * Detect.postprocess (TensorRT EfficientNMS's shape) against DetectReference.postprocess on every
 * host device and dtype. Boxes on an integer grid and scores on a 1/64 grid are exact in every dtype
 * and keep every IoU and every sigmoid clear of the thresholds, so the kept pairs are decided the
 * same way in f32 and in double; many equal scores exercise the tie order, more candidates than
 * topK the radix select.
 */
class PostprocessTest {
    /** One image set: boxes [N, B, 4] (xyxy, as generated), raw scores [N, B, C] or [N, B] with labels. */
    record Input(int n, int b, int c, float[] xyxy, float[] raw, long[] labels) {}

    static Input input(Random r, int n, int b, int c, boolean labels, int extent) {
        float[] boxes = new float[n * b * 4];
        for (int i = 0; i < n * b; i++) {
            float[] one = DetectTest.gridBoxes(r, 1, extent);
            System.arraycopy(one, 0, boxes, 4 * i, 4);
        }
        for (int i = 3; i + 1 < n * b; i += 11) System.arraycopy(boxes, 4 * i, boxes, 4 * (i + 1), 4);  // identical boxes
        int perBox = labels ? 1 : c;
        float[] raw = new float[n * b * perBox];
        for (int i = 0; i < raw.length; i++) {
            int k = r.nextInt(16);
            raw[i] = k == 0 ? Float.NaN : k == 1 ? -0f : k == 2 ? 0f : (r.nextInt(513) - 256) / 64f;
        }
        long[] cls = null;
        if (labels) {
            cls = new long[n * b];
            for (int i = 0; i < cls.length; i++) cls[i] = r.nextInt(c);
        }
        return new Input(n, b, c, boxes, raw, cls);
    }

    /** Boxes in format f, from xyxy (half-integers: exact in every dtype up to 256). */
    static float[] inFormat(float[] xyxy, BoxFormat f) {
        float[] out = new float[xyxy.length];
        for (int i = 0; i < xyxy.length / 4; i++) {
            double[] b = {xyxy[4 * i], xyxy[4 * i + 1], xyxy[4 * i + 2], xyxy[4 * i + 3]};
            double[] v = DetectReference.convert(b, BoxFormat.XYXY, f);
            for (int k = 0; k < 4; k++) out[4 * i + k] = (float) v[k];
        }
        return out;
    }

    static PaddedDetections run(Device d, DType t, Input in, PostprocessParams p, boolean labels32) {
        Tensor boxes = DetectTest.tensor(inFormat(in.xyxy, p.boxFormat()), new long[] {in.n, in.b, 4}, t, d);
        if (in.labels == null)
            return Detect.postprocess(boxes, DetectTest.tensor(in.raw, new long[] {in.n, in.b, in.c}, t, d), p);
        Tensor scores = DetectTest.tensor(in.raw, new long[] {in.n, in.b}, t, d);
        Tensor classes;
        if (labels32) {
            int[] c32 = new int[in.labels.length];
            for (int i = 0; i < c32.length; i++) c32[i] = (int) in.labels[i];
            classes = Tensor.of(c32, new long[] {in.n, in.b}, d);
        } else {
            classes = Tensor.of(in.labels, new long[] {in.n, in.b}, d);
        }
        return Detect.postprocess(boxes, scores, classes, p);
    }

    static void check(Device d, DType t, Input in, PostprocessParams p, boolean labels32, String what) {
        try (Scope s = Scope.open()) {
            PaddedDetections got = run(d, t, in, p, labels32);
            int slots = p.maxDetections(), perBox = in.labels == null ? in.c : 1;
            assertArrayEquals(new long[] {in.n}, got.count().shape(), what);
            assertArrayEquals(new long[] {in.n, slots, 4}, got.boxes().shape(), what);
            assertArrayEquals(new long[] {in.n, slots}, got.scores().shape(), what);
            assertArrayEquals(new long[] {in.n, slots}, got.classes().shape(), what);
            long[] count = got.count().toLongArray(), classes = got.classes().toLongArray();
            float[] boxes = got.boxes().toFloatArray(), scores = got.scores().toFloatArray();
            for (int img = 0; img < in.n; img++) {
                double[][] xyxy = new double[in.b][];
                for (int i = 0; i < in.b; i++) {
                    int o = 4 * (img * in.b + i);
                    xyxy[i] = new double[] {in.xyxy[o], in.xyxy[o + 1], in.xyxy[o + 2], in.xyxy[o + 3]};
                }
                double[] raw = new double[in.b * perBox];
                for (int i = 0; i < raw.length; i++) raw[i] = in.raw[img * raw.length + i];
                long[] labels = null;
                if (in.labels != null) {
                    labels = new long[in.b];
                    System.arraycopy(in.labels, img * in.b, labels, 0, in.b);
                }
                int[] kept = DetectReference.postprocess(xyxy, raw, labels, in.c, p.scoreThreshold(), p.iouThreshold(), p.topK(),
                        p.maxDetections(), p.backgroundClass(), p.scoreSigmoid(), p.classAgnostic());
                String at = what + ", image " + img;
                assertEquals(kept.length, count[img], at + ": count");
                for (int slot = 0; slot < slots; slot++) {
                    int o = img * slots + slot;
                    String as = at + ", slot " + slot;
                    if (slot >= kept.length) {
                        assertEquals(-1, classes[o], as + ": padded class");
                        assertEquals(0f, scores[o], as + ": padded score");
                        for (int k = 0; k < 4; k++) assertEquals(0f, boxes[4 * o + k], as + ": padded box");
                        continue;
                    }
                    int pair = kept[slot], box = in.labels == null ? pair / in.c : pair;
                    long cls = in.labels == null ? pair % in.c : labels[pair];
                    assertEquals(cls, classes[o], as + ": class");
                    for (int k = 0; k < 4; k++) assertEquals((float) xyxy[box][k], boxes[4 * o + k], as + ": box");
                    double score = p.scoreSigmoid() ? 1 / (1 + Math.exp(-raw[pair])) : raw[pair];
                    assertEquals(score, scores[o], 2e-6 * Math.max(1, Math.abs(score)), as + ": score");
                }
            }
        }
    }

    static Stream<Arguments> devicesAndDtypes() {
        return DetectTest.devicesAndDtypes();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndDtypes")
    void perClassScores(Device d, DType t) {
        Random r = new Random(41);
        PostprocessParams base = PostprocessParams.defaults();
        // {images, boxes, classes}
        for (int[] shape : new int[][] {{1, 0, 3}, {1, 1, 1}, {2, 7, 5}, {3, 60, 4}, {1, 300, 20}, {2, 700, 10}}) {
            Input in = input(r, shape[0], shape[1], shape[2], false, shape[1] < 50 ? 16 : 48);
            String what = shape[0] + "x" + shape[1] + "x" + shape[2];
            check(d, t, in, base, false, what + " defaults");
            check(d, t, in, base.withScoreThreshold(-1).withMaxDetections(300), false, what + " low threshold, 300 slots");
            check(d, t, in, base.withTopK(9).withMaxDetections(5).withIouThreshold(0.25), false, what + " top 9, 5 slots");
            check(d, t, in, base.withScoreSigmoid(true).withScoreThreshold(0.3).withClassAgnostic(true), false, what + " sigmoid, agnostic");
            check(d, t, in, base.withBackgroundClass(0).withScoreThreshold(0).withBoxFormat(BoxFormat.CXCYWH), false,
                    what + " background 0, cxcywh");
            check(d, t, in, base.withScoreThreshold(Double.NEGATIVE_INFINITY).withTopK(4096).withMaxDetections(4096)
                    .withIouThreshold(1).withBoxFormat(BoxFormat.XYWH), false, what + " everything a candidate, nothing suppressed");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndDtypes")
    void oneClassPerBox(Device d, DType t) {
        Random r = new Random(43);
        PostprocessParams base = PostprocessParams.defaults().withScoreThreshold(-2);
        for (int[] shape : new int[][] {{1, 1, 1}, {2, 33, 3}, {1, 2500, 80}}) {
            Input in = input(r, shape[0], shape[1], shape[2], true, 40);
            String what = shape[0] + "x" + shape[1] + " labels";
            check(d, t, in, base, false, what + " i64");
            check(d, t, in, base.withTopK(100).withMaxDetections(7), true, what + " i32, top 100");
            check(d, t, in, base.withClassAgnostic(true).withBackgroundClass(2), true, what + " agnostic, background 2");
        }
    }

    /** More candidates than topK with equal scores across the cut: the lower pairs enter, by index. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void tiesAtTheTopKCut(Device d) {
        int b = 64;
        float[] xyxy = new float[4 * b], raw = new float[b];
        for (int i = 0; i < b; i++) {
            xyxy[4 * i] = 3 * i;
            xyxy[4 * i + 2] = 3 * i + 2;
            xyxy[4 * i + 3] = 2;
            raw[i] = i % 3 == 0 ? 1f : 0.5f;  // 22 at 1, 42 at 0.5
        }
        Input in = new Input(1, b, 1, xyxy, raw, null);
        for (int k : new int[] {1, 21, 22, 23, 30, 64})
            check(d, DType.F32, in, PostprocessParams.defaults().withTopK(k).withMaxDetections(64).withScoreThreshold(0), false,
                    "top " + k);
    }

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    /** The block's threads share the histogram, the candidate slots, the sort and the walk: any order, one result. */
    @Test
    void sameInEveryEmuOrder() {
        EmuSchedules.assumeEmu();
        Random r = new Random(47);
        Input in = input(r, 2, 400, 8, false, 40);
        PostprocessParams p = PostprocessParams.defaults().withScoreThreshold(-1).withTopK(500).withMaxDetections(60);
        float[] got = EmuSchedules.sameInEveryOrder("postprocess", 13, () -> {
            try (Scope s = Scope.open(); PaddedDetections out = run(Device.EMU, DType.F32, in, p, false)) {
                float[] boxes = out.boxes().toFloatArray(), scores = out.scores().toFloatArray();
                long[] classes = out.classes().toLongArray(), count = out.count().toLongArray();
                float[] all = new float[boxes.length + scores.length + classes.length + count.length];
                int o = 0;
                for (float v : boxes) all[o++] = v;
                for (float v : scores) all[o++] = v;
                for (long v : classes) all[o++] = v;
                for (long v : count) all[o++] = v;
                return all;
            }
        });
        assertEquals(2 * 60 * 6 + 2, got.length);
        check(Device.EMU, DType.F32, in, p, false, "emu default order");
    }
}
