package org.deepkern.detect;

import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Detection;

/**
 * Object detection's box operations and non-maximum suppression, with torchvision.ops' semantics
 * (box_convert, box_area, clip_boxes_to_image, box_iou, nms, batched_nms). Boxes are tensors
 * [..., 4] (box_iou and NMS: [N, 4]) of f32, f16 or bf16, computed in f32; box_area, box_iou and
 * NMS take corner boxes (x1, y1, x2, y2). Every op runs on the boxes' device, NMS included: only the
 * kept count comes back to the host.
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
}
