package org.deepkern.detect;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * torchvision.ops' box math and greedy NMS in double precision, written plainly from torchvision's
 * Python (box_convert, box_area, box_iou, clip_boxes_to_image, nms / batched_nms): the tests' judge.
 */
final class DetectReference {
    private DetectReference() {}

    static double[] convert(double[] b, BoxFormat in, BoxFormat out) {
        if (in == out) return b.clone();
        double x = b[0], y = b[1], p = b[2], q = b[3];
        return switch (in) {
            case XYXY -> out == BoxFormat.XYWH ? new double[] {x, y, p - x, q - y}
                    : new double[] {(x + p) / 2, (y + q) / 2, p - x, q - y};
            case XYWH -> out == BoxFormat.XYXY ? new double[] {x, y, x + p, y + q}
                    : new double[] {x + p / 2, y + q / 2, p, q};
            case CXCYWH -> out == BoxFormat.XYXY ? new double[] {x - 0.5 * p, y - 0.5 * q, x + 0.5 * p, y + 0.5 * q}
                    : new double[] {x - p / 2, y - q / 2, p, q};
        };
    }

    static double area(double[] b) {
        return (b[2] - b[0]) * (b[3] - b[1]);
    }

    /** torch.clamp(v, 0, hi). */
    static double clamp(double v, double hi) {
        return Double.isNaN(v) ? v : Math.min(Math.max(v, 0), hi);
    }

    /** inter / union, the intersection's sides clamped at 0: NaN for two boxes of zero area. */
    static double iou(double[] a, double[] b) {
        double w = Math.max(Math.min(a[2], b[2]) - Math.max(a[0], b[0]), 0);
        double h = Math.max(Math.min(a[3], b[3]) - Math.max(a[1], b[1]), 0);
        double inter = w * h;
        return inter / (area(a) + area(b) - inter);
    }

    /**
     * Greedy NMS: boxes by decreasing score (NaN largest, equal scores by index: a stable descending
     * torch.sort), each box kept unless a kept box of its class overlaps it by IoU > threshold.
     */
    static long[] nms(double[][] boxes, double[] scores, long[] classes, double threshold) {
        Integer[] order = new Integer[boxes.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Comparator<Integer> byScore = (i, j) -> {
            double s = scores[i], t = scores[j];
            if (Double.isNaN(s) || Double.isNaN(t)) return Boolean.compare(Double.isNaN(t), Double.isNaN(s));
            return s == t ? 0 : (s > t ? -1 : 1);  // -0 == +0
        };
        Arrays.sort(order, byScore.thenComparing(i -> i));
        List<Integer> kept = new ArrayList<>();
        for (int i : order) {
            boolean suppressed = false;
            for (int k : kept)
                if ((classes == null || classes[k] == classes[i]) && iou(boxes[k], boxes[i]) > threshold) {
                    suppressed = true;
                    break;
                }
            if (!suppressed) kept.add(i);
        }
        return kept.stream().mapToLong(Integer::longValue).toArray();
    }

    /**
     * TensorRT EfficientNMS's postprocess of one image, as deepkern documents it: the pairs (box b,
     * class c; pair b C + c, or b with labels) whose score (the sigmoid of raw where asked) is above
     * the f32 threshold and whose class is not the background, the topK best by decreasing raw score
     * (-0 == +0, ties by pair), greedy NMS (per class unless agnostic, IoU > the f32 threshold),
     * stopping at maxDet kept. Returns the kept pairs in order.
     */
    static int[] postprocess(double[][] xyxy, double[] raw, long[] labels, int classes, double scoreThreshold,
                             double iouThreshold, int topK, int maxDet, long background, boolean sigmoid, boolean agnostic) {
        float scoreThr = (float) scoreThreshold, iouThr = (float) iouThreshold;
        List<Integer> cand = new ArrayList<>();
        for (int p = 0; p < raw.length; p++) {
            double s = sigmoid ? 1 / (1 + Math.exp(-raw[p])) : raw[p];
            long c = labels == null ? p % classes : labels[p];
            if (s > scoreThr && !(background >= 0 && c == background)) cand.add(p);
        }
        cand.sort(Comparator.<Integer>comparingDouble(p -> -raw[p] + 0.0).thenComparing(p -> p));
        List<Integer> top = cand.subList(0, Math.min(topK, cand.size()));
        List<Integer> kept = new ArrayList<>();
        for (int i : top) {
            if (kept.size() == maxDet) break;
            int bi = labels == null ? i / classes : i;
            long ci = labels == null ? i % classes : labels[i];
            boolean suppressed = false;
            for (int k : kept) {
                int bk = labels == null ? k / classes : k;
                long ck = labels == null ? k % classes : labels[k];
                if ((agnostic || ck == ci) && iou(xyxy[bk], xyxy[bi]) > iouThr) {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed) kept.add(i);
        }
        return kept.stream().mapToInt(Integer::intValue).toArray();
    }
}
