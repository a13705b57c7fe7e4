package org.deepkern.detect;

import java.util.Arrays;

/**
 * The decoders' published formulas in double precision, written plainly from their papers'
 * reference code (ultralytics yolov3 / yolov5 Detect, ultralytics' DFL and dist2bbox, CenterNet's
 * _nms / _topk / ctdet_decode) on [N, C, H, W] heads given as flat arrays: the tests' judge.
 */
final class DecodeReference {
    private DecodeReference() {}

    /** boxes [N][P][4], scores [N][P], classes [N][P]. */
    record Decoded(double[][][] boxes, double[][] scores, long[][] classes) {}

    static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    /** torch's max over dim 1 on the sigmoids: the largest, the first of equals. */
    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++)
            if (v[i] > v[best]) best = i;
        return best;
    }

    /** head[((n * C + c) * H + y) * W + x]. */
    static double at(float[] head, int channels, int h, int w, int n, int c, int y, int x) {
        return head[((n * channels + c) * h + y) * w + x];
    }

    /**
     * YOLO v3 / v5 (anchors non-null, {w0, h0, ...} per level) or v8 (anchors null, DFL of regMax
     * bins); heads[l] flat [N, C, H, W] with the extents hw[l] = {H, W}.
     */
    static Decoded yolo(int version, float[][] heads, int[][] hw, int n, double[] strides, double[][] anchors, int k, int regMax) {
        int levels = heads.length, a = anchors == null ? 1 : anchors[0].length / 2;
        int per = version == 8 ? 4 * regMax + k : 5 + k, channels = a * per;
        int total = 0;
        for (int[] e : hw) total += a * e[0] * e[1];
        double[][][] boxes = new double[n][total][];
        double[][] scores = new double[n][total];
        long[][] classes = new long[n][total];
        for (int img = 0; img < n; img++) {
            int p = 0;
            for (int l = 0; l < levels; l++) {
                int h = hw[l][0], w = hw[l][1];
                double s = strides[l];
                for (int an = 0; an < a; an++)
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++, p++) {
                            final int fy = y, fx = x, base = an * per, im = img, lev = l;
                            java.util.function.IntToDoubleFunction ch = c -> at(heads[lev], channels, h, w, im, base + c, fy, fx);
                            int boxChannels = version == 8 ? 4 * regMax : 5;
                            double[] cls = new double[k];
                            for (int c = 0; c < k; c++) cls[c] = sigmoid(ch.applyAsDouble(boxChannels + c));
                            int best = argmax(cls);
                            classes[img][p] = best;
                            if (version == 8) {
                                double[] d = new double[4];
                                for (int side = 0; side < 4; side++) {
                                    double[] bins = new double[regMax];
                                    double max = Double.NEGATIVE_INFINITY, sum = 0, expectation = 0;
                                    for (int i = 0; i < regMax; i++) max = Math.max(max, bins[i] = ch.applyAsDouble(side * regMax + i));
                                    for (int i = 0; i < regMax; i++) sum += Math.exp(bins[i] - max);
                                    for (int i = 0; i < regMax; i++) expectation += i * Math.exp(bins[i] - max) / sum;
                                    d[side] = expectation;
                                }
                                double ax = x + 0.5, ay = y + 0.5;
                                boxes[img][p] = new double[] {(ax - d[0]) * s, (ay - d[1]) * s, (ax + d[2]) * s, (ay + d[3]) * s};
                                scores[img][p] = cls[best];
                            } else {
                                double sx = sigmoid(ch.applyAsDouble(0)), sy = sigmoid(ch.applyAsDouble(1));
                                double aw = anchors[l][2 * an], ah = anchors[l][2 * an + 1];
                                double cx, cy, bw, bh;
                                if (version == 3) {
                                    cx = (sx + x) * s;
                                    cy = (sy + y) * s;
                                    bw = Math.exp(ch.applyAsDouble(2)) * aw;
                                    bh = Math.exp(ch.applyAsDouble(3)) * ah;
                                } else {
                                    cx = (sx * 2 - 0.5 + x) * s;
                                    cy = (sy * 2 - 0.5 + y) * s;
                                    bw = Math.pow(sigmoid(ch.applyAsDouble(2)) * 2, 2) * aw;
                                    bh = Math.pow(sigmoid(ch.applyAsDouble(3)) * 2, 2) * ah;
                                }
                                boxes[img][p] = new double[] {cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2};
                                scores[img][p] = sigmoid(ch.applyAsDouble(4)) * cls[best];
                            }
                        }
            }
        }
        return new Decoded(boxes, scores, classes);
    }

    /**
     * CenterNet's ctdet_decode: heat = sigmoid, kept where equal to its 3x3 max pool (padding 1),
     * else 0; the k best of each image's C H W scores, ties by lower flat index (torch.topk per class,
     * then over the classes' candidates); boxes from wh and offset (null: + 0.5) times downRatio.
     */
    static Decoded centerNet(float[] heat, float[] wh, float[] offset, int n, int c, int h, int w, int k, double downRatio) {
        double[][][] boxes = new double[n][k][];
        double[][] scores = new double[n][k];
        long[][] classes = new long[n][k];
        int m = c * h * w;
        for (int img = 0; img < n; img++) {
            double[] score = new double[m];
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        double v = sigmoid(at(heat, c, h, w, img, ch, y, x)), pooled = Double.NEGATIVE_INFINITY;
                        for (int v2 = Math.max(y - 1, 0); v2 <= Math.min(y + 1, h - 1); v2++)
                            for (int u = Math.max(x - 1, 0); u <= Math.min(x + 1, w - 1); u++)
                                pooled = Math.max(pooled, sigmoid(at(heat, c, h, w, img, ch, v2, u)));
                        score[(ch * h + y) * w + x] = pooled == v ? v : 0;
                    }
            Integer[] order = new Integer[m];
            for (int i = 0; i < m; i++) order[i] = i;
            Arrays.sort(order, (i, j) -> score[i] != score[j] ? Double.compare(score[j], score[i]) : Integer.compare(i, j));
            for (int s = 0; s < k; s++) {
                int flat = order[s], cell = flat % (h * w), y = cell / w, x = cell % w;
                double ox = offset == null ? 0.5 : at(offset, 2, h, w, img, 0, y, x);
                double oy = offset == null ? 0.5 : at(offset, 2, h, w, img, 1, y, x);
                double bw = at(wh, 2, h, w, img, 0, y, x), bh = at(wh, 2, h, w, img, 1, y, x);
                double cx = x + ox, cy = y + oy;
                boxes[img][s] = new double[] {
                    (cx - bw / 2) * downRatio, (cy - bh / 2) * downRatio, (cx + bw / 2) * downRatio, (cy + bh / 2) * downRatio};
                scores[img][s] = score[flat];
                classes[img][s] = flat / (h * w);
            }
        }
        return new Decoded(boxes, scores, classes);
    }
}
