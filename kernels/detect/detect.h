// detect.h - the detection family's backend contract (torchvision.ops): box conversions, areas,
// clipping, pairwise IoU, non-maximum suppression (plain or per class), the decoders of raw
// detection heads (YOLOv3 / v5 / v8, CenterNet) into boxes, scores and classes, the fused
// postprocess (threshold, top-k, NMS) of such outputs, and RoIAlign.
#pragma once

#include "deepkern/backend.h"

namespace dk {

enum class BoxFormat : int32_t { xyxy = 0, xywh = 1, cxcywh = 2 };

// One box in, one result out: a box in out_fmt (convert), its area, or the box clipped to the image.
enum class BoxOp : int32_t { convert = 0, area = 1, clip = 2 };

// boxes src [count, 4] -> dst [count, 4] (convert, clip) or [count] (area), one dtype.
struct BoxMapArgs {
    const void* src;
    void* dst;
    int64_t count;
    BoxOp op;
    BoxFormat in_fmt, out_fmt;  // convert
    float height, width;        // clip: x to [0, width], y to [0, height]
};

// a [n, 4], b [m, 4] (xyxy) -> out [n, m], one dtype.
struct BoxIouArgs {
    const void* a;
    const void* b;
    void* out;
    int64_t n, m;
};

// The suppression mask packs 64 boxes to a word; the single-block walk keeps one bit per box in
// shared memory, so n is bounded by the 99 KiB every GPU the cuda backend runs on grants a block.
constexpr int kNmsWordBits = 64;
constexpr int64_t kNmsMaxBoxes = int64_t(kNmsWordBits) * (99 * 1024 / 8);

// boxes [n, 4] (xyxy) and scores [n] in one floating dtype; classes (null: one class) int32 or int64
// [n]. keep [n] receives the kept indices first, by decreasing score; *count (device memory) how
// many. workspace: what nms_workspace asked for.
struct NmsArgs {
    const void* boxes;
    const void* scores;
    const void* classes;
    bool classes64;
    int64_t n;
    float threshold;
    int64_t* keep;
    int64_t* count;
    void* workspace;
};

// ---- the fused postprocess (TensorRT EfficientNMS): threshold, top-k, NMS, padded outputs ----

constexpr int32_t kPostprocessMaxTopK = DK_POSTPROCESS_MAX_TOP_K;

// boxes [n, boxes, 4] in box_fmt; scores [n, boxes, classes] (labels null) or [n, boxes] with one
// class per box in labels (int32 or int64 [n, boxes]; classes = 1), one floating dtype. Pair p of
// an image is (box p / classes, class p % classes, or the box's label). out_boxes [n, max_det, 4]
// (xyxy), out_scores [n, max_det], out_classes [n, max_det], count [n].
struct PostprocessArgs {
    const void* boxes;
    const void* scores;
    const void* labels;
    bool labels64;
    int64_t n, boxes_per_image;
    int32_t classes;
    BoxFormat box_fmt;
    float score_threshold, iou_threshold;
    int32_t top_k, max_det;
    int64_t background;  // where has_background: a class whose pairs are never candidates
    bool has_background, sigmoid, agnostic;
    float* out_boxes;
    float* out_scores;
    int64_t* out_classes;
    int64_t* count;
};

// ---- decoders: raw head outputs -> boxes (xyxy, f32), scores (f32), classes (int64) ----

constexpr int kDecodeMaxLevels = DK_DECODE_MAX_LEVELS;
constexpr int kDecodeMaxAnchors = DK_DECODE_MAX_ANCHORS;

enum class YoloHead : int32_t { v3 = 3, v5 = 5, v8 = 8 };

// Level l's head [n, channels, height[l], width[l]] (NCHW, one floating dtype across levels) holds
// predictions first[l] .. first[l + 1] - 1 of an image: anchor-major (v3 / v5: a * H * W + y * W + x;
// v8: one per cell). Channels per anchor: 5 + classes (tx, ty, tw, th, to, class logits) for v3 / v5,
// 4 * reg_max + classes (the DFL bins of l, t, r, b, then class logits) for v8. boxes [n, total, 4],
// scores and labels [n, total].
struct YoloDecodeArgs {
    const void* head[kDecodeMaxLevels];
    int32_t height[kDecodeMaxLevels], width[kDecodeMaxLevels];
    float stride[kDecodeMaxLevels];
    float anchor[kDecodeMaxLevels][kDecodeMaxAnchors][2];  // v3 / v5: (w, h) in pixels
    int64_t first[kDecodeMaxLevels + 1];
    int32_t levels, anchors, classes, reg_max;
    int64_t n, total;
    float* boxes;
    float* scores;
    int64_t* labels;
};

// The CenterNet top-K keeps up to this many detections per image (its sort runs in one block's
// shared memory, 8 bytes a key).
constexpr int32_t kCenterNetMaxK = DK_CENTERNET_MAX_K;

// heat [n, classes, height, width] logits, wh and offset (null: cell centres) [n, 2, height, width],
// one floating dtype. boxes [n, k, 4], scores and labels [n, k]. workspace: what
// centernet_decode_workspace asked for.
struct CenterNetArgs {
    const void* heat;
    const void* wh;
    const void* offset;
    int64_t n;
    int32_t classes, height, width, k;
    float down_ratio;
    float* boxes;
    float* scores;
    int64_t* labels;
    void* workspace;
};

// ---- RoIAlign (torchvision.ops.roi_align), forward and backward ----

// image [n, c, height, width] (NCHW), boxes [k, 5] (batch index, x1, y1, x2, y2), pooled
// [k, c, out_h, out_w], one floating dtype. Forward: src = the image, dst = pooled; backward:
// src = grad of pooled, dst = grad of the image (every element written). height, width <= 2^24.
struct RoiAlignArgs {
    const void* src;
    const void* boxes;
    void* dst;
    int64_t n, c, height, width, k;
    int32_t out_h, out_w;
    int32_t sampling_ratio;  // > 0: samples per bin side; <= 0: adaptive
    float spatial_scale;
    bool aligned;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void box_map(const Exec&, DType, const BoxMapArgs&);
    void box_iou(const Exec&, DType, const BoxIouArgs&);
    void nms_workspace(const Exec&, DType, const NmsArgs&, int64_t* bytes);
    void nms(const Exec&, DType, const NmsArgs&);
    void yolo_decode(const Exec&, DType, YoloHead, const YoloDecodeArgs&);
    void centernet_decode_workspace(const Exec&, DType, const CenterNetArgs&, int64_t* bytes);
    void centernet_decode(const Exec&, DType, const CenterNetArgs&);
    void postprocess(const Exec&, DType, const PostprocessArgs&);
    void roi_align_forward(const Exec&, DType, const RoiAlignArgs&);
    void roi_align_backward(const Exec&, DType, const RoiAlignArgs&);
)
