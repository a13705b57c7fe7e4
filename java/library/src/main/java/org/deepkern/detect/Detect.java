package org.deepkern.detect;

import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Detection;

/**
 * Object detection's box operations, non-maximum suppression and RoIAlign, with torchvision.ops'
 * semantics (box_convert, box_area, clip_boxes_to_image, box_iou, nms, batched_nms, roi_align). Boxes
 * are tensors [..., 4] (box_iou and NMS: [N, 4]; RoIAlign: [K, 5] with a batch index first) of f32,
 * f16 or bf16, computed in f32; box_area, box_iou, NMS and RoIAlign take corner boxes (x1, y1, x2,
 * y2). Every op runs on the boxes' device, NMS included: only the kept count comes back to the host.
 */
public final class Detect {
    private Detect() {}

    /**
     * torchvision.ops.box_convert: boxes from one coordinate format to another.
     *
     * @param boxes [..., 4]
     * @param inFmt the boxes' format
     * @param outFmt the result's format
     * @return [..., 4] in outFmt, boxes' dtype
     */
    public static Tensor boxConvert(Tensor boxes, BoxFormat inFmt, BoxFormat outFmt) {
        return Detection.convert(new Call("Detect.boxConvert"), boxes, inFmt, outFmt);
    }

    /**
     * torchvision.ops.box_area: (x2 - x1) * (y2 - y1) of each box.
     *
     * @param boxes [..., 4], xyxy
     * @return [...], boxes' dtype
     */
    public static Tensor boxArea(Tensor boxes) {
        return Detection.area(new Call("Detect.boxArea"), boxes);
    }

    /**
     * torchvision.ops.box_iou: the IoU of every pair, inter / (area(a_i) + area(b_j) - inter), with no +1
     * in the areas. Two boxes of zero area give 0 / 0 = NaN, as torchvision does.
     *
     * @param a [N, 4], xyxy
     * @param b [M, 4], xyxy, a's dtype
     * @return [N, M], a's dtype
     */
    public static Tensor boxIou(Tensor a, Tensor b) {
        return Detection.iou(new Call("Detect.boxIou"), a, b);
    }

    /**
     * torchvision.ops.clip_boxes_to_image: x clamped to [0, width], y to [0, height] (NaN stays NaN).
     *
     * @param boxes [..., 4], xyxy
     * @param height the image's height, >= 0
     * @param width the image's width, >= 0
     * @return the clipped boxes, boxes' shape and dtype
     */
    public static Tensor clipBoxes(Tensor boxes, long height, long width) {
        return Detection.clip(new Call("Detect.clipBoxes"), boxes, height, width);
    }

    /**
     * torchvision.ops.nms: greedy non-maximum suppression. Boxes are taken by decreasing score - a
     * stable sort, so equal scores by lower index first (-0 equals +0), and NaN scores first, as
     * torch.sort(descending=True), which torchvision uses, takes NaN as the largest value; each box not
     * yet suppressed is kept and suppresses every later box whose IoU with it is strictly greater than
     * iouThreshold (in f32, the threshold rounded to f32 as torchvision does). An IoU of NaN (two boxes
     * of zero area) suppresses nothing. At most 811008 boxes.
     *
     * @param boxes [N, 4], xyxy
     * @param scores [N], boxes' dtype
     * @param iouThreshold not NaN
     * @return the kept boxes' indices, int64, by decreasing score (a view of the first kept-count
     *     elements of an [N] tensor, as torchvision's keep[:count])
     */
    public static Tensor nms(Tensor boxes, Tensor scores, double iouThreshold) {
        return Detection.nms(new Call("Detect.nms"), boxes, scores, null, false, iouThreshold);
    }

    /**
     * torchvision.ops.batched_nms: {@link #nms} within each class - a box suppresses only boxes of its
     * own class - the kept indices of every class merged in nms' order (decreasing score, NaN first,
     * ties by lower index). Exact per-class suppression: no coordinate offsets.
     *
     * @param boxes [N, 4], xyxy
     * @param scores [N], boxes' dtype
     * @param classes [N], i32 or i64
     * @param iouThreshold not NaN
     * @return the kept indices, int64, as nms returns them
     */
    public static Tensor batchedNms(Tensor boxes, Tensor scores, Tensor classes, double iouThreshold) {
        return Detection.nms(new Call("Detect.batchedNms"), boxes, scores, classes, true, iouThreshold);
    }

    /**
     * A detector's fused postprocess, in TensorRT EfficientNMS's shape, on the device in one launch:
     * per image, the (box, class) pairs whose score is above params' score threshold (NaN never is;
     * the background class never), the topK best of them by decreasing score (ties by lower pair
     * index box * C + class), greedy NMS among those - a kept pair suppresses the later pairs of its
     * class (of any class where class-agnostic) whose boxes' IoU with its box is strictly above the
     * IoU threshold, as {@link #nms} - stopping at maxDetections kept, and padded outputs. One box
     * serves every class of its row, so a box may be kept for several classes (class-aware NMS).
     *
     * @param boxes [N, B, 4] in params' box format
     * @param scores [N, B, C], boxes' dtype
     * @param params thresholds, counts and formats
     * @return the detections of each image, padded to maxDetections slots
     */
    public static PaddedDetections postprocess(Tensor boxes, Tensor scores, PostprocessParams params) {
        return Detection.postprocess(new Call("Detect.postprocess"), boxes, scores, null, params);
    }

    /**
     * {@link #postprocess(Tensor, Tensor, PostprocessParams)} with one class per box, given: the
     * pairs are the boxes, as a decoder returns them ({@link Decoders}).
     *
     * @param boxes [N, B, 4] in params' box format
     * @param scores [N, B], boxes' dtype
     * @param classes [N, B], i32 or i64
     * @param params thresholds, counts and formats
     * @return the detections of each image, padded to maxDetections slots
     */
    public static PaddedDetections postprocess(Tensor boxes, Tensor scores, Tensor classes, PostprocessParams params) {
        Call c = new Call("Detect.postprocess");
        return Detection.postprocess(c, boxes, scores, c.tensor("classes", classes), params);
    }

    /**
     * A decoder's detections postprocessed: {@link #postprocess(Tensor, Tensor, Tensor, PostprocessParams)}
     * of their boxes, scores and classes (corner boxes: params' box format is not read).
     *
     * @param detections a decoder's output
     * @param params thresholds and counts
     * @return the detections of each image, padded to maxDetections slots
     */
    public static PaddedDetections postprocess(Detections detections, PostprocessParams params) {
        Call c = new Call("Detect.postprocess");
        Detections d = c.required("detections", detections, "a decoder's Detections");
        PostprocessParams p = c.required("params", params, "PostprocessParams");
        return Detection.postprocess(c, d.boxes(), d.scores(), c.tensor("detections.classes", d.classes()),
                p.withBoxFormat(BoxFormat.XYXY));
    }

    /**
     * torchvision.ops.roi_align (Mask R-CNN's RoIAlign): each region of interest pooled to an outH x outW
     * grid of bins, each bin the average of a grid of bilinear samples of the feature map. The roi's
     * corners are scaled by spatialScale (and shifted by -0.5 when aligned; without it a roi is at least
     * 1 x 1); bin (ph, pw) averages samples at y = y1' + ph binH + (iy + 0.5) binH / gridH (x likewise),
     * gridH = samplingRatio, or ceil(binH) when samplingRatio &lt;= 0 (adaptive), with torchvision's
     * bilinear rule: a sample outside [-1, H] x [-1, W] is 0 (and still counted), a coordinate &lt;= 0 is
     * taken as 0, and the last row and column are not interpolated past. The geometry is computed in f32
     * as torchvision computes it for float tensors, the same bits on every backend.
     *
     * <p>Defined outcomes where torchvision has none: a roi whose batch index (truncated toward zero)
     * is outside [0, N), or NaN, or whose scaled corners or size are not finite, gives zeros (and no
     * gradient); an adaptive grid is at most 2^31 - 1 samples a side, and only the samples inside the
     * image are visited, so a huge roi costs no more than the image holds.
     *
     * @param input the feature map [N, C, H, W] (NCHW), f32, f16 or bf16 (computed in f32), 1 &lt;= H, W
     *     &lt;= 2^24
     * @param boxes [K, 5] in input's dtype: rows (batch index, x1, y1, x2, y2) in image coordinates
     * @param outH the output's height, &gt;= 1
     * @param outW the output's width, &gt;= 1
     * @param spatialScale feature-map pixels per image pixel (1 / the stride: 0.25 for stride 4), finite,
     *     &gt; 0
     * @param samplingRatio samples per bin side, or &lt;= 0 (torchvision's -1) for ceil(roi size / output
     *     size)
     * @param aligned whether to shift the scaled corners by -0.5 pixel (torchvision's aligned=True, as
     *     Detectron2's ROIAlignV2)
     * @return [K, C, outH, outW] in input's dtype
     */
    public static Tensor roiAlign(Tensor input, Tensor boxes, int outH, int outW, double spatialScale, int samplingRatio,
                                  boolean aligned) {
        return Detection.roiAlign(new Call("Detect.roiAlign"), input, boxes, outH, outW, spatialScale, samplingRatio, aligned);
    }

    /**
     * The gradient of {@link #roiAlign} with respect to its input (torchvision's _roi_align_backward):
     * each sample inside the image gives each of its 4 bilinear taps (gradOut * weight) / count. A
     * gather on the GPU (no atomics): every element is the sum of its terms in one fixed order, the
     * same bits on every run and every backend; elements no roi reaches are 0.
     *
     * @param gradOut the gradient of roiAlign's output, [K, C, outH, outW] (its shape gives the output
     *     size), f32, f16 or bf16
     * @param boxes the forward's boxes [K, 5], gradOut's dtype
     * @param inputShape the forward's input shape [N, C, H, W], C as gradOut's, 1 &lt;= H, W &lt;= 2^24
     * @param spatialScale as the forward's, finite, &gt; 0
     * @param samplingRatio as the forward's
     * @param aligned as the forward's
     * @return the input's gradient, inputShape, gradOut's dtype
     */
    public static Tensor roiAlignBackward(Tensor gradOut, Tensor boxes, long[] inputShape, double spatialScale,
                                          int samplingRatio, boolean aligned) {
        return Detection.roiAlignBackward(new Call("Detect.roiAlignBackward"), gradOut, boxes, inputShape, spatialScale,
                samplingRatio, aligned);
    }
}
