package org.deepkern.detect;

import java.util.List;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Detection;

/**
 * Decoders of detection heads: raw head outputs (NCHW, torch's layout; f32, f16 or bf16, computed
 * in f32) into {@link Detections} - boxes, scores and classes - in one pass on the heads' device,
 * with no threshold: filter and run {@link Detect#batchedNms} after. sigmoid(v) = 1 / (1 + exp(-v));
 * a prediction's class is the argmax of its class logits (the first of equal ones), which is the
 * argmax of their sigmoids.
 *
 * <p>The YOLO decoders take 1 to 4 levels at once ({@code heads.get(l)} [N, C, H_l, W_l], the same
 * N and dtype on each) and return P = the predictions of every level, in ultralytics' order: the
 * levels in order; within a level anchor-major, a H W + y W + x (v8: one per cell, y W + x).
 */
public final class Decoders {
    private Decoders() {}

    /** YOLOv8's DFL bins per box side (ultralytics' reg_max). */
    public static final int REG_MAX = 16;
    /** CenterNet's default detections per image. */
    public static final int CENTERNET_K = 100;
    /** CenterNet's default output stride (its down ratio). */
    public static final double CENTERNET_DOWN_RATIO = 4;

    /**
     * YOLOv3 (ultralytics/yolov3, PyTorch-YOLOv3): for cell (x, y), stride s and anchor (aw, ah),
     * centre ((sigmoid(tx) + x) s, (sigmoid(ty) + y) s), size (exp(tw) aw, exp(th) ah), box = centre
     * -+ size / 2; score = sigmoid(to) * sigmoid(max class logit) (independent logistic classifiers).
     *
     * @param heads level l's head [N, A (5 + K), H_l, W_l]: anchor a's channels tx, ty, tw, th, to,
     *     then K class logits, at a (5 + K)
     * @param strides level l's stride in pixels, > 0
     * @param anchors level l's anchors in pixels as ultralytics' yaml lists them, {w0, h0, w1, h1, ...}:
     *     A (1 to 8) per level, the same A on every level, each > 0
     * @param numClasses K, >= 1
     * @return boxes [N, P, 4], scores [N, P], classes [N, P], P = sum of A H_l W_l
     */
    public static Detections yoloV3(List<Tensor> heads, double[] strides, double[][] anchors, int numClasses) {
        return Detection.yolo(new Call("Decoders.yoloV3"), Detection.YOLO_V3, heads, strides, anchors, numClasses, 0);
    }

    /**
     * YOLOv5 (ultralytics; YOLOv7's head too): as {@link #yoloV3} with centre ((2 sigmoid(tx) - 0.5 +
     * x) s, (2 sigmoid(ty) - 0.5 + y) s) and size ((2 sigmoid(tw))^2 aw, (2 sigmoid(th))^2 ah).
     *
     * @param heads level l's head [N, A (5 + K), H_l, W_l]
     * @param strides level l's stride in pixels, > 0
     * @param anchors level l's anchors {w0, h0, w1, h1, ...} in pixels, A per level as in yoloV3
     * @param numClasses K, >= 1
     * @return boxes [N, P, 4], scores [N, P], classes [N, P], P = sum of A H_l W_l
     */
    public static Detections yoloV5(List<Tensor> heads, double[] strides, double[][] anchors, int numClasses) {
        return Detection.yolo(new Call("Decoders.yoloV5"), Detection.YOLO_V5, heads, strides, anchors, numClasses, 0);
    }

    /**
     * {@link #yoloV8(List, double[], int, int)} with ultralytics' 16 DFL bins.
     *
     * @param heads level l's head [N, 64 + K, H_l, W_l]
     * @param strides level l's stride in pixels, &gt; 0
     * @param numClasses K, &gt;= 1
     * @return boxes [N, P, 4], scores [N, P], classes [N, P], P = sum of H_l W_l
     */
    public static Detections yoloV8(List<Tensor> heads, double[] strides, int numClasses) {
        return yoloV8(heads, strides, numClasses, REG_MAX);
    }

    /**
     * YOLOv8 (ultralytics, anchor-free, DFL; YOLOv9 / v10 / v11's heads too): each side's distance d =
     * sum(i softmax(bins)_i) in grid units, the anchor point (x + 0.5, y + 0.5), box = (x + 0.5 - d_l,
     * y + 0.5 - d_t, x + 0.5 + d_r, y + 0.5 + d_b) s; score = sigmoid(max class logit), no objectness.
     *
     * @param heads level l's head [N, 4 regMax + K, H_l, W_l]: regMax bins for each of l, t, r, b,
     *     then K class logits
     * @param strides level l's stride in pixels, > 0
     * @param numClasses K, >= 1
     * @param regMax DFL bins per side, >= 2
     * @return boxes [N, P, 4], scores [N, P], classes [N, P], P = sum of H_l W_l
     */
    public static Detections yoloV8(List<Tensor> heads, double[] strides, int numClasses, int regMax) {
        return Detection.yolo(new Call("Decoders.yoloV8"), Detection.YOLO_V8, heads, strides, null, numClasses, regMax);
    }

    /**
     * {@link #centerNet(Tensor, Tensor, Tensor, int, double)} with CenterNet's K = 100 and down ratio 4.
     *
     * @param heatmap [N, C, H, W] logits
     * @param wh [N, 2, H, W] box width and height in output cells
     * @param offset [N, 2, H, W] sub-cell centre offsets, or null
     * @return boxes [N, 100, 4], scores [N, 100], classes [N, 100]
     */
    public static Detections centerNet(Tensor heatmap, Tensor wh, Tensor offset) {
        return centerNet(heatmap, wh, offset, CENTERNET_K, CENTERNET_DOWN_RATIO);
    }

    /**
     * CenterNet's ctdet_decode (Objects as Points): heat = sigmoid(heatmap), kept where it equals its
     * 3x3 max (max_pool2d(3, 1, 1): equal neighbours on a plateau all stay), else 0; the k best of the
     * C H W scores of each image, by decreasing score, ties by lower flat index c H W + y W + x (where
     * fewer than k peaks exist, zero-score cells fill in by that order); slot i from cell (x, y) of
     * class c: box (x + off_x -+ w / 2, y + off_y -+ h / 2) * downRatio, its score, class c.
     *
     * @param heatmap [N, C, H, W] logits
     * @param wh [N, 2, H, W] box width and height in output cells, heatmap's dtype
     * @param offset [N, 2, H, W] sub-cell centre offsets, or null for cell centres (x + 0.5, y + 0.5)
     * @param k detections per image, 1 .. min(C H W, 4096)
     * @param downRatio the heatmap's stride in pixels, > 0
     * @return boxes [N, k, 4], scores [N, k], classes [N, k]
     */
    public static Detections centerNet(Tensor heatmap, Tensor wh, Tensor offset, int k, double downRatio) {
        return Detection.centerNet(new Call("Decoders.centerNet"), heatmap, wh, offset, k, downRatio);
    }
}
