package org.deepkern.cli.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.detect.Decoders;
import org.deepkern.detect.Detect;
import org.deepkern.detect.Detections;
import org.deepkern.detect.PaddedDetections;
import org.deepkern.detect.PostprocessParams;

/**
 * A detector's last steps, f32. BATCHED_NMS: torchvision's batched_nms of n boxes (the case's
 * shape {n}) of 80 classes at IoU 0.5 - corner boxes on an integer grid of a 640 x 640 image, 8 to
 * 128 px a side (every IoU a ratio of small integers, decided alike in f32 and double), uniform
 * scores, uniform classes (given as f32 values, converted to int32 inside the timed call: 4n bytes
 * beside NMS's n^2 / 8 bytes of mask). YOLOV8: one 640 x 640 image (the shape {1, 640, 640}) from
 * YOLOv8's three raw heads (strides 8, 16, 32; 16 DFL bins a side, 80 classes: 8400 anchors) to
 * 100 padded detections - the decoder, then the fused postprocess (score > 0.25, IoU 0.45, per
 * class); class logits 2z - 8 (z normal: about 2% of anchors pass, as a trained head's few objects).
 * Both checked against a double reference of the whole chain.
 */
public record DetectOp(Kind kind) implements BenchOp {
    public enum Kind {
        BATCHED_NMS, YOLOV8
    }

    static final int CLASSES = 80, REG_MAX = 16, IMAGE = 640, SLOTS = 100;
    static final double NMS_IOU = 0.5, SCORE = 0.25, YOLO_IOU = 0.45;
    static final int[] STRIDES = {8, 16, 32};
    static final PostprocessParams YOLO = PostprocessParams.defaults().withScoreThreshold(SCORE).withIouThreshold(YOLO_IOU)
            .withMaxDetections(SLOTS);

    @Override
    public String name() {
        return kind == Kind.YOLOV8 ? "yolov8_postprocess" : "batched_nms";
    }

    @Override
    public DType outputDtype(DType in) {
        return DType.F32;
    }

    @Override
    public List<long[]> inputShapes(long[] s) {
        if (kind == Kind.BATCHED_NMS) return List.of(new long[] {s[0], 4}, new long[] {s[0]}, new long[] {s[0]});
        List<long[]> heads = new ArrayList<>();
        for (int stride : STRIDES) heads.add(new long[] {s[0], 4 * REG_MAX + CLASSES, s[1] / stride, s[2] / stride});
        return heads;
    }

    @Override
    public List<long[]> outputShapes(long[] s) {
        if (kind == Kind.BATCHED_NMS) return List.of(new long[] {s[0]});
        return List.of(new long[] {s[0]}, new long[] {s[0], SLOTS, 4}, new long[] {s[0], SLOTS}, new long[] {s[0], SLOTS});
    }

    @Override
    public double flops(long[] s) {
        return 0;  // comparisons, an exp per DFL bin and class: not what bounds either
    }

    /** A normal sample as a uniform one in (0, 1) (the logistic approximation of its CDF: a bijection is all it needs). */
    private static double uniform(float z) {
        return 1 / (1 + Math.exp(-1.702 * z));
    }

    @Override
    public float[][] fromNormals(long[] s, float[][] z) {
        if (kind == Kind.YOLOV8) {
            float[][] heads = new float[z.length][];
            for (int l = 0; l < z.length; l++) {
                heads[l] = z[l].clone();
                int cells = (IMAGE / STRIDES[l]) * (IMAGE / STRIDES[l]);
                for (int i = 4 * REG_MAX * cells; i < heads[l].length; i++) heads[l][i] = 2 * z[l][i] - 8;  // class logits
            }
            return heads;
        }
        int n = (int) s[0];
        float[] boxes = new float[4 * n], scores = new float[n], classes = new float[n];
        for (int i = 0; i < n; i++) {
            int w = 8 + (int) (120 * uniform(z[0][4 * i + 2])), h = 8 + (int) (120 * uniform(z[0][4 * i + 3]));
            int x = (int) ((IMAGE - w) * uniform(z[0][4 * i])), y = (int) ((IMAGE - h) * uniform(z[0][4 * i + 1]));
            boxes[4 * i] = x;
            boxes[4 * i + 1] = y;
            boxes[4 * i + 2] = x + w;
            boxes[4 * i + 3] = y + h;
            scores[i] = (float) uniform(z[1][i]);
            classes[i] = Math.min(CLASSES - 1, (int) (CLASSES * uniform(z[2][i])));
        }
        return new float[][] {boxes, scores, classes};
    }

    @Override
    public void run(long[] s, Tensor[] in, Tensor[] out) {
        if (kind == Kind.BATCHED_NMS) {
            try (Tensor classes = in[2].to(DType.I32)) {
                Tensor keep = Detect.batchedNms(in[0], in[1], classes, NMS_IOU);
                out[0].close();
                out[0] = keep;
            }
            return;
        }
        try (Detections d = Decoders.yoloV8(Arrays.asList(in), new double[] {STRIDES[0], STRIDES[1], STRIDES[2]}, CLASSES)) {
            PaddedDetections p = Detect.postprocess(d, YOLO);
            Tensor[] got = {p.count(), p.boxes(), p.scores(), p.classes()};
            for (int j = 0; j < out.length; j++) {
                out[j].close();
                out[j] = got[j];
            }
        }
    }

    @Override
    public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
        return kind == Kind.BATCHED_NMS ? verifyNms(in, out[0]) : verifyYolo(in, out);
    }

    /** Greedy NMS per class on the host, in double: the kept indices by decreasing score (ties by index). */
    private static String verifyNms(float[][] in, float[] kept) {
        int n = in[1].length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -in[1][i]).thenComparing(i -> i));
        List<List<Integer>> perClass = new ArrayList<>();
        for (int c = 0; c < CLASSES; c++) perClass.add(new ArrayList<>());
        List<Integer> want = new ArrayList<>();
        for (int i : order) {
            List<Integer> same = perClass.get((int) in[2][i]);
            boolean suppressed = false;
            for (int k : same)
                if (iou(in[0], 4 * k, in[0], 4 * i) > NMS_IOU) {
                    suppressed = true;
                    break;
                }
            if (!suppressed) {
                same.add(i);
                want.add(i);
            }
        }
        if (kept.length != want.size()) return "kept " + kept.length + " boxes, the reference " + want.size();
        for (int j = 0; j < kept.length; j++)
            if (kept[j] != want.get(j)) return "kept[" + j + "] = " + (long) kept[j] + ", the reference " + want.get(j);
        return null;
    }

    private static double iou(float[] a, int i, float[] b, int j) {
        double w = Math.max(Math.min(a[i + 2], b[j + 2]) - Math.max(a[i], b[j]), 0);
        double h = Math.max(Math.min(a[i + 3], b[j + 3]) - Math.max(a[i + 1], b[j + 1]), 0);
        double inter = w * h;
        return inter / ((a[i + 2] - a[i]) * (a[i + 3] - a[i + 1]) + (b[j + 2] - b[j]) * (b[j + 3] - b[j + 1]) - inter);
    }

    /**
     * YOLOv8's decode in double (ultralytics' DFL expectation, dist2bbox, sigmoid of the best class
     * logit), then the postprocess: anchors above the score threshold by decreasing score, greedy
     * per-class NMS, the first 100 kept; compared slot by slot.
     */
    private static String verifyYolo(float[][] heads, float[][] out) {
        List<double[]> anchors = new ArrayList<>();  // x1, y1, x2, y2, score, class
        for (int l = 0; l < heads.length; l++) {
            int side = IMAGE / STRIDES[l], cells = side * side;
            for (int cell = 0; cell < cells; cell++) {
                int best = 0;
                for (int c = 1; c < CLASSES; c++)
                    if (heads[l][(4 * REG_MAX + c) * cells + cell] > heads[l][(4 * REG_MAX + best) * cells + cell]) best = c;
                double score = 1 / (1 + Math.exp(-heads[l][(4 * REG_MAX + best) * cells + cell]));
                double[] d = new double[4];
                for (int k = 0; k < 4; k++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0, mean = 0;
                    for (int b = 0; b < REG_MAX; b++) max = Math.max(max, heads[l][(k * REG_MAX + b) * cells + cell]);
                    for (int b = 0; b < REG_MAX; b++) {
                        double e = Math.exp(heads[l][(k * REG_MAX + b) * cells + cell] - max);
                        sum += e;
                        mean += b * e;
                    }
                    d[k] = mean / sum;
                }
                double cx = cell % side + 0.5, cy = cell / side + 0.5, st = STRIDES[l];
                anchors.add(new double[] {(cx - d[0]) * st, (cy - d[1]) * st, (cx + d[2]) * st, (cy + d[3]) * st, score, best});
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < anchors.size(); i++) if (anchors.get(i)[4] > SCORE) order.add(i);
        order.sort(Comparator.<Integer>comparingDouble(i -> -anchors.get(i)[4]).thenComparing(i -> i));
        List<double[]> kept = new ArrayList<>();
        for (int i : order) {
            if (kept.size() == SLOTS) break;
            double[] a = anchors.get(i);
            boolean suppressed = false;
            for (double[] k : kept)
                if (k[5] == a[5] && iou(k, a) > YOLO_IOU) {
                    suppressed = true;
                    break;
                }
            if (!suppressed) kept.add(a);
        }
        if (out[0][0] != kept.size()) return "count " + out[0][0] + ", the reference " + kept.size();
        for (int slot = 0; slot < SLOTS; slot++) {
            double[] want = slot < kept.size() ? kept.get(slot) : new double[] {0, 0, 0, 0, 0, -1};
            if (out[3][slot] != want[5]) return "slot " + slot + ": class " + out[3][slot] + ", the reference " + want[5];
            if (Math.abs(out[2][slot] - want[4]) > 1e-5) return "slot " + slot + ": score " + out[2][slot] + ", the reference " + want[4];
            for (int k = 0; k < 4; k++)
                if (Math.abs(out[1][4 * slot + k] - want[k]) > 1e-3)
                    return "slot " + slot + ": box[" + k + "] " + out[1][4 * slot + k] + ", the reference " + want[k];
        }
        return null;
    }

    private static double iou(double[] a, double[] b) {
        double w = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]), 0);
        double h = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]), 0);
        double inter = w * h;
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
    }
}
