// detect.cpp - the C API of the detection family: validate boxes, scores, classes, heads, images and
// the parameters, then run the backend (kernels/detect, cpu/detect.cpp). NMS copies one int64, the
// kept count, to the host; the decoders and RoIAlign copy nothing (a roi's batch index is checked
// where the boxes are, on the device).
#include <climits>
#include <cmath>
#include <cstdio>
#include <string>

#include "api.h"
#include "validate.h"
#include "detect/detect.h"

using namespace dk;

namespace {

[[noreturn]] void bad(const char* name, const std::string& what) { fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + what); }

// Floating boxes [..., 4] (rank 2, [N, 4], where pairs says so): their count.
int64_t check_boxes(const Checked& b, bool pairs = false) {
    check_floating(b);
    if (pairs ? b.shape.size() != 2 : b.shape.empty())
        bad(b.name, std::string("expected boxes ") + (pairs ? "[N, 4]" : "[..., 4]") + ", got " + shape_string(b.shape));
    if (b.shape.back() != 4) bad(b.name, "expected 4 coordinates in the last dim, got shape " + shape_string(b.shape));
    return b.numel / 4;
}

BoxFormat check_format(const char* name, int32_t f) {
    if (f < DK_BOX_XYXY || f > DK_BOX_CXCYWH)
        bad(name, "must be DK_BOX_XYXY (0), DK_BOX_XYWH (1) or DK_BOX_CXCYWH (2), got " + std::to_string(f));
    return BoxFormat(f);
}

// out for boxes: compact, the boxes' dtype, shape (boxes' shape, less its last dim for area); out may
// be the boxes themselves where in_place.
Checked check_box_output(const dk_context* ctx, dk_tensor* out, const Checked& boxes, bool area, bool in_place) {
    const Checked oc = check_tensor(ctx, "out", out);
    check_same_dtype(oc, boxes);
    const Shape shape(boxes.shape.begin(), boxes.shape.end() - (area ? 1 : 0));
    check_shape(oc, shape, area ? "one area per box" : "the boxes' shape");
    if (in_place) check_no_partial_overlap(oc, boxes);
    else check_disjoint(oc, boxes);
    return oc;
}

void box_map(dk_context* ctx, const dk_tensor* boxes, dk_tensor* out, BoxMapArgs a) {
    const Checked bc = check_input(ctx, "boxes", boxes);
    a.count = check_boxes(bc);
    const Checked oc = check_box_output(ctx, out, bc, a.op == BoxOp::area, a.op == BoxOp::clip);
    a.src = bc.data;
    a.dst = oc.data;
    DK_BACKEND_CALL(ctx, box_map, bc.dtype, a);
}

void nms(dk_context* ctx, const dk_tensor* boxes, const dk_tensor* scores, const dk_tensor* classes,
         double iou_threshold, dk_tensor* keep, int64_t* count) {
    const Checked bc = check_input(ctx, "boxes", boxes);
    NmsArgs a{};
    a.n = check_boxes(bc, true);
    if (a.n > kNmsMaxBoxes)
        bad(bc.name, "at most " + std::to_string(kNmsMaxBoxes) + " boxes (the suppression walk keeps a bit per box in " +
                         "a block's shared memory), got " + std::to_string(a.n));
    const Checked sc = check_input(ctx, "scores", scores);
    check_same_dtype(sc, bc);
    check_shape(sc, Shape{a.n}, "one score per box");
    if (std::isnan(iou_threshold)) bad("iou_threshold", "expected a number, got NaN");
    if (classes) {
        const Checked cc = check_input(ctx, "classes", classes);
        if (cc.dtype != DType::i32 && cc.dtype != DType::i64)
            bad(cc.name, std::string("expected an integer dtype (i32, i64), got ") + dtype_name(cc.dtype));
        check_shape(cc, Shape{a.n}, "one class per box");
        a.classes = cc.data;
        a.classes64 = cc.dtype == DType::i64;
    }
    const Checked kc = check_tensor(ctx, "keep", keep);
    check_dtype(kc, DType::i64);
    check_shape(kc, Shape{a.n}, "room for every box");
    check_disjoint(kc, bc);
    check_disjoint(kc, sc);
    if (!count) bad("count", "expected a place for the kept count, got NULL");
    *count = 0;
    if (a.n == 0) return;
    a.boxes = bc.data;
    a.scores = sc.data;
    a.threshold = float(iou_threshold);
    a.keep = static_cast<int64_t*>(kc.data);
    a.count = static_cast<int64_t*>(call_scratch(ctx, sizeof(int64_t)));
    DK_BACKEND_CALL_WITH_WORKSPACE(ctx, nms, bc.dtype, a, workspace);
    copy_to_host(ctx, count, a.count, sizeof(int64_t));
}

bool positive_finite(double v) { return std::isfinite(v) && v > 0; }

const char* const kDecodedNames[3] = {"boxes", "scores", "classes"};

// A decoder's outputs for `count` predictions of each of n images: boxes [n, count, 4] and scores
// [n, count] in f32, classes [n, count] int64, compact, sharing no byte with each other or the inputs;
// named as names says.
void check_decoded(const dk_context* ctx, dk_tensor* boxes, dk_tensor* scores, dk_tensor* classes, int64_t n,
                   int64_t count, const CheckedList& inputs, float** boxes_out, float** scores_out,
                   int64_t** classes_out, const char* const (&names)[3] = kDecodedNames) {
    const Checked bc = check_tensor(ctx, names[0], boxes), sc = check_tensor(ctx, names[1], scores),
                  cc = check_tensor(ctx, names[2], classes);
    check_dtype(bc, DType::f32);
    check_dtype(sc, DType::f32);
    check_dtype(cc, DType::i64);
    check_shape(bc, Shape{n, count, 4}, "a box per prediction");
    check_shape(sc, Shape{n, count}, "a score per prediction");
    check_shape(cc, Shape{n, count}, "a class per prediction");
    check_disjoint(sc, bc);
    check_disjoint(cc, bc);
    check_disjoint(cc, sc);
    for (const Checked& in : inputs) {
        check_disjoint(bc, in);
        check_disjoint(sc, in);
        check_disjoint(cc, in);
    }
    *boxes_out = static_cast<float*>(bc.data);
    *scores_out = static_cast<float*>(sc.data);
    *classes_out = static_cast<int64_t*>(cc.data);
}

// A head [N, C, H, W] of floating dtype with H, W >= 1.
void check_head(const Checked& h) {
    check_floating(h);
    if (h.shape.size() != 4) bad(h.name, "expected a head [N, C, H, W], got " + shape_string(h.shape));
    if (h.shape[2] < 1 || h.shape[3] < 1 || h.shape[2] > INT32_MAX || h.shape[3] > INT32_MAX)
        bad(h.name, "expected 1 <= H, W < 2^31, got " + shape_string(h.shape));
}

// The postprocess's boxes [N, B, 4], scores [N, B, C] or [N, B] with classes [N, B]: their extents
// and pointers into a.
CheckedList check_postprocess_inputs(const dk_context* ctx, const dk_tensor* boxes, const dk_tensor* scores,
                                     const dk_tensor* classes, PostprocessArgs& a) {
    const Checked bc = check_input(ctx, "boxes", boxes);
    check_floating(bc);
    if (bc.shape.size() != 3 || bc.shape[2] != 4) bad(bc.name, "expected boxes [N, B, 4], got " + shape_string(bc.shape));
    a.n = bc.shape[0];
    a.boxes_per_image = bc.shape[1];
    const Checked sc = check_input(ctx, "scores", scores);
    check_same_dtype(sc, bc);
    CheckedList inputs{bc, sc};
    if (classes) {
        check_shape(sc, Shape{a.n, a.boxes_per_image}, "[N, B], one score per box, where classes are given");
        const Checked cc = check_input(ctx, "classes", classes);
        if (cc.dtype != DType::i32 && cc.dtype != DType::i64)
            bad(cc.name, std::string("expected an integer dtype (i32, i64), got ") + dtype_name(cc.dtype));
        check_shape(cc, Shape{a.n, a.boxes_per_image}, "one class per box, [N, B]");
        inputs.push_back(cc);
        a.labels = cc.data;
        a.labels64 = cc.dtype == DType::i64;
        a.classes = 1;
    } else {
        if (sc.shape.size() != 3 || sc.shape[0] != a.n || sc.shape[1] != a.boxes_per_image || sc.shape[2] < 1)
            bad(sc.name, "expected [N, B, C] = [" + std::to_string(a.n) + ", " + std::to_string(a.boxes_per_image) +
                             ", C >= 1] for boxes " + shape_string(bc.shape) + ", got " + shape_string(sc.shape));
        if (sc.shape[2] > INT32_MAX) bad(sc.name, "expected C below 2^31, got " + shape_string(sc.shape));
        a.classes = int32_t(sc.shape[2]);
    }
    // the rank key keeps a pair's index in 32 bits, the walk in an int32
    if (a.boxes_per_image * a.classes > INT32_MAX)
        bad(sc.name, "expected B C below 2^31 pairs per image, got " + shape_string(sc.shape));
    if (a.n > INT32_MAX) bad(bc.name, "expected N below 2^31 (a block per image), got " + shape_string(bc.shape));
    a.boxes = bc.data;
    a.scores = sc.data;
    return inputs;
}

// RoIAlign's sample positions are exact in f32 up to this many pixels a side.
constexpr int64_t kRoiMaxSide = int64_t(1) << 24;

// An image of RoIAlign, [N, C, H, W] of floating dtype with 1 <= H, W <= 2^24, into a's sizes.
void check_roi_image(const Checked& t, RoiAlignArgs& a) {
    check_floating(t);
    if (t.shape.size() != 4) bad(t.name, "expected an image [N, C, H, W], got " + shape_string(t.shape));
    if (t.shape[2] < 1 || t.shape[3] < 1 || t.shape[2] > kRoiMaxSide || t.shape[3] > kRoiMaxSide)
        bad(t.name, "expected 1 <= H, W <= 2^24 (sample positions exact in f32), got " + shape_string(t.shape));
    a.n = t.shape[0];
    a.c = t.shape[1];
    a.height = t.shape[2];
    a.width = t.shape[3];
}

// RoIAlign's boxes: [K, 5] rows (batch index, x1, y1, x2, y2) in like's dtype; k < 0: any K (into a.k).
Checked check_roi_boxes(const dk_context* ctx, const dk_tensor* boxes, const Checked& like, int64_t k, RoiAlignArgs& a) {
    const Checked bc = check_input(ctx, "boxes", boxes);
    check_same_dtype(bc, like);
    if (bc.shape.size() != 2 || bc.shape[1] != 5 || (k >= 0 && bc.shape[0] != k))
        bad(bc.name, "expected boxes [K, 5] (batch index, x1, y1, x2, y2)" +
                         (k >= 0 ? " with K = " + std::to_string(k) + " (one per roi of grad_out)" : std::string()) +
                         ", got " + shape_string(bc.shape));
    a.k = bc.shape[0];
    a.boxes = bc.data;
    return bc;
}

// v as C's %g writes it (1e-50, 0.25, inf, nan), where std::to_string would give 0.000000.
std::string number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

void check_roi_params(double spatial_scale, int32_t aligned, int32_t sampling_ratio, RoiAlignArgs& a) {
    // the kernels take it in f32, as torchvision does
    if (!positive_finite(spatial_scale) || !positive_finite(float(spatial_scale)))
        bad("spatial_scale", "expected a finite scale > 0 (in f32), got " + number(spatial_scale));
    if (aligned != 0 && aligned != 1) bad("aligned", "expected 0 or 1, got " + std::to_string(aligned));
    a.spatial_scale = float(spatial_scale);
    a.aligned = aligned != 0;
    a.sampling_ratio = sampling_ratio;
}

}  // namespace

extern "C" {

DK_API dk_status dk_box_convert(dk_context* ctx, const dk_tensor* boxes, int32_t in_fmt, int32_t out_fmt, dk_tensor* out) {
    return guard_ctx("dk_box_convert", ctx, [&] {
        BoxMapArgs a{};
        a.op = BoxOp::convert;
        a.in_fmt = check_format("in_fmt", in_fmt);
        a.out_fmt = check_format("out_fmt", out_fmt);
        box_map(ctx, boxes, out, a);
    });
}

DK_API dk_status dk_box_area(dk_context* ctx, const dk_tensor* boxes, dk_tensor* out) {
    return guard_ctx("dk_box_area", ctx, [&] {
        BoxMapArgs a{};
        a.op = BoxOp::area;
        box_map(ctx, boxes, out, a);
    });
}

DK_API dk_status dk_clip_boxes(dk_context* ctx, const dk_tensor* boxes, int64_t height, int64_t width, dk_tensor* out) {
    return guard_ctx("dk_clip_boxes", ctx, [&] {
        if (height < 0 || width < 0)
            bad(height < 0 ? "height" : "width", "expected a size >= 0, got " + std::to_string(height < 0 ? height : width));
        BoxMapArgs a{};
        a.op = BoxOp::clip;
        a.height = float(height);
        a.width = float(width);
        box_map(ctx, boxes, out, a);
    });
}

DK_API dk_status dk_box_iou(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, dk_tensor* out) {
    return guard_ctx("dk_box_iou", ctx, [&] {
        const Checked ac = check_input(ctx, "a", a), bc = check_input(ctx, "b", b);
        BoxIouArgs args{};
        args.n = check_boxes(ac, true);
        args.m = check_boxes(bc, true);
        check_same_dtype(bc, ac);
        const Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, ac);
        check_shape(oc, Shape{args.n, args.m}, "[N, M] for a [N, 4] and b [M, 4]");
        check_disjoint(oc, ac);
        check_disjoint(oc, bc);
        args.a = ac.data;
        args.b = bc.data;
        args.out = oc.data;
        DK_BACKEND_CALL(ctx, box_iou, ac.dtype, args);
    });
}

DK_API dk_status dk_nms(dk_context* ctx, const dk_tensor* boxes, const dk_tensor* scores, double iou_threshold,
                        dk_tensor* keep, int64_t* count) {
    return guard_ctx("dk_nms", ctx, [&] { nms(ctx, boxes, scores, nullptr, iou_threshold, keep, count); });
}

DK_API dk_status dk_batched_nms(dk_context* ctx, const dk_tensor* boxes, const dk_tensor* scores,
                                const dk_tensor* classes, double iou_threshold, dk_tensor* keep, int64_t* count) {
    return guard_ctx("dk_batched_nms", ctx, [&] {
        if (!classes) bad("classes", "expected a tensor, got NULL");
        nms(ctx, boxes, scores, classes, iou_threshold, keep, count);
    });
}

DK_API dk_status dk_yolo_decode(dk_context* ctx, const dk_yolo_params* params, const dk_tensor* const* heads,
                                dk_tensor* boxes, dk_tensor* scores, dk_tensor* classes) {
    return guard_ctx("dk_yolo_decode", ctx, [&] {
        static const char* const kHeadNames[kDecodeMaxLevels] = {"heads[0]", "heads[1]", "heads[2]", "heads[3]"};
        if (!params) bad("params", "expected parameters, got NULL");
        const dk_yolo_params& p = *params;
        if (p.head != DK_YOLO_V3 && p.head != DK_YOLO_V5 && p.head != DK_YOLO_V8)
            bad("params.head", "must be DK_YOLO_V3 (3), DK_YOLO_V5 (5) or DK_YOLO_V8 (8), got " + std::to_string(p.head));
        const bool v8 = p.head == DK_YOLO_V8;
        if (p.num_levels < 1 || p.num_levels > kDecodeMaxLevels)
            bad("params.num_levels", "expected 1 .. " + std::to_string(kDecodeMaxLevels) + " levels, got " +
                                         std::to_string(p.num_levels));
        if (p.num_classes < 1) bad("params.num_classes", "expected >= 1, got " + std::to_string(p.num_classes));
        if (!v8 && (p.num_anchors < 1 || p.num_anchors > kDecodeMaxAnchors))
            bad("params.num_anchors", "expected 1 .. " + std::to_string(kDecodeMaxAnchors) + " anchors per level, got " +
                                          std::to_string(p.num_anchors));
        if (v8 && p.reg_max < 2) bad("params.reg_max", "expected >= 2 DFL bins, got " + std::to_string(p.reg_max));
        if (!heads) bad("heads", "expected an array of params.num_levels tensors, got NULL");
        YoloDecodeArgs a{};
        a.levels = p.num_levels;
        a.classes = p.num_classes;
        a.anchors = v8 ? 1 : p.num_anchors;
        a.reg_max = v8 ? p.reg_max : 0;
        const int64_t channels = v8 ? 4 * int64_t(p.reg_max) + p.num_classes : int64_t(a.anchors) * (5 + int64_t(p.num_classes));
        CheckedList inputs;
        for (int l = 0; l < p.num_levels; ++l) {
            const std::string at = "[" + std::to_string(l) + "]";
            if (!positive_finite(p.strides[l]))
                bad(("params.strides" + at).c_str(), "expected a stride > 0, got " + std::to_string(p.strides[l]));
            for (int k = 0; k < 2 * a.anchors && !v8; ++k) {
                const int i = 2 * l * kDecodeMaxAnchors + k;
                if (!positive_finite(p.anchors[i]))
                    bad(("params.anchors[" + std::to_string(i) + "]").c_str(),
                        "expected an anchor size > 0 (level " + std::to_string(l) + "), got " + std::to_string(p.anchors[i]));
                a.anchor[l][k / 2][k % 2] = float(p.anchors[i]);
            }
            const Checked h = check_input(ctx, kHeadNames[l], heads[l]);
            check_head(h);
            if (l > 0) {
                check_same_dtype(h, inputs[0]);
                if (h.shape[0] != inputs[0].shape[0])
                    bad(h.name, "expected N = " + std::to_string(inputs[0].shape[0]) + " as heads[0], got " +
                                    shape_string(h.shape));
            }
            if (h.shape[1] != channels)
                bad(h.name, "expected " + std::to_string(channels) + " channels (" +
                                (v8 ? "4 reg_max + K" : "A (5 + K)") + "), got " + shape_string(h.shape));
            inputs.push_back(h);
            a.head[l] = h.data;
            a.height[l] = int32_t(h.shape[2]);
            a.width[l] = int32_t(h.shape[3]);
            a.stride[l] = float(p.strides[l]);
            a.first[l + 1] = a.first[l] + a.anchors * h.shape[2] * h.shape[3];
        }
        a.n = inputs[0].shape[0];
        a.total = a.first[a.levels];
        checked_numel("boxes", Shape{a.n, a.total, 4}, DType::f32);
        check_decoded(ctx, boxes, scores, classes, a.n, a.total, inputs, &a.boxes, &a.scores, &a.labels);
        DK_BACKEND_CALL(ctx, yolo_decode, inputs[0].dtype, YoloHead(p.head), a);
    });
}

DK_API dk_status dk_centernet_decode(dk_context* ctx, const dk_tensor* heatmap, const dk_tensor* wh,
                                     const dk_tensor* offset, int32_t k, double down_ratio, dk_tensor* boxes,
                                     dk_tensor* scores, dk_tensor* classes) {
    return guard_ctx("dk_centernet_decode", ctx, [&] {
        const Checked hc = check_input(ctx, "heatmap", heatmap);
        check_head(hc);
        const int64_t n = hc.shape[0], m = hc.shape[1] * hc.shape[2] * hc.shape[3];
        if (hc.shape[1] < 1) bad(hc.name, "expected C >= 1 classes, got " + shape_string(hc.shape));
        // the top-K key keeps the flat index in 32 bits; a block per image
        if (m > INT32_MAX || n > INT32_MAX)
            bad(hc.name, "expected C H W and N below 2^31, got " + shape_string(hc.shape));
        const Shape pair{n, 2, hc.shape[2], hc.shape[3]};
        CheckedList inputs{hc};
        const Checked wc = check_input(ctx, "wh", wh);
        check_same_dtype(wc, hc);
        check_shape(wc, pair, "[N, 2, H, W] for a heatmap [N, C, H, W]");
        inputs.push_back(wc);
        CenterNetArgs a{};
        if (offset) {
            const Checked oc = check_input(ctx, "offset", offset);
            check_same_dtype(oc, hc);
            check_shape(oc, pair, "[N, 2, H, W] for a heatmap [N, C, H, W]");
            inputs.push_back(oc);
            a.offset = oc.data;
        }
        if (k < 1 || k > kCenterNetMaxK || k > m)
            bad("k", "expected 1 .. min(C H W, " + std::to_string(kCenterNetMaxK) + ") = " +
                         std::to_string(m < kCenterNetMaxK ? m : kCenterNetMaxK) + ", got " + std::to_string(k));
        if (!positive_finite(down_ratio)) bad("down_ratio", "expected a stride > 0, got " + std::to_string(down_ratio));
        check_decoded(ctx, boxes, scores, classes, n, k, inputs, &a.boxes, &a.scores, &a.labels);
        if (n == 0) return;
        a.heat = hc.data;
        a.wh = wc.data;
        a.n = n;
        a.classes = int32_t(hc.shape[1]);
        a.height = int32_t(hc.shape[2]);
        a.width = int32_t(hc.shape[3]);
        a.k = k;
        a.down_ratio = float(down_ratio);
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, centernet_decode, hc.dtype, a, workspace);
    });
}

DK_API dk_status dk_detection_postprocess(dk_context* ctx, const dk_postprocess_params* params,
                                          const dk_tensor* boxes, const dk_tensor* scores,
                                          const dk_tensor* classes, dk_tensor* count, dk_tensor* out_boxes,
                                          dk_tensor* out_scores, dk_tensor* out_classes) {
    return guard_ctx("dk_detection_postprocess", ctx, [&] {
        if (!params) bad("params", "expected parameters, got NULL");
        const dk_postprocess_params& p = *params;
        PostprocessArgs a{};
        if (std::isnan(p.score_threshold)) bad("params.score_threshold", "expected a number, got NaN");
        if (std::isnan(p.iou_threshold)) bad("params.iou_threshold", "expected a number, got NaN");
        if (p.top_k < 1 || p.top_k > kPostprocessMaxTopK)
            bad("params.top_k", "expected 1 .. " + std::to_string(kPostprocessMaxTopK) + " candidates, got " +
                                    std::to_string(p.top_k));
        if (p.max_detections < 1 || p.max_detections > kPostprocessMaxTopK)
            bad("params.max_detections", "expected 1 .. " + std::to_string(kPostprocessMaxTopK) + " slots, got " +
                                             std::to_string(p.max_detections));
        if (p.background_class < -1)
            bad("params.background_class", "expected -1 (none) or a class >= 0, got " + std::to_string(p.background_class));
        a.box_fmt = check_format("params.box_format", p.box_format);
        const CheckedList inputs = check_postprocess_inputs(ctx, boxes, scores, classes, a);
        a.score_threshold = float(p.score_threshold);
        a.iou_threshold = float(p.iou_threshold);
        a.top_k = p.top_k;
        a.max_det = p.max_detections;
        a.has_background = p.background_class >= 0;
        a.background = p.background_class;
        a.sigmoid = p.score_sigmoid != 0;
        a.agnostic = p.class_agnostic != 0;
        const Checked cc = check_tensor(ctx, "count", count);
        check_dtype(cc, DType::i64);
        check_shape(cc, Shape{a.n}, "one count per image, [N]");
        for (const Checked& in : inputs) check_disjoint(cc, in);
        CheckedList read = inputs;
        read.push_back(cc);
        static const char* const kOutNames[3] = {"out_boxes", "out_scores", "out_classes"};
        check_decoded(ctx, out_boxes, out_scores, out_classes, a.n, a.max_det, read, &a.out_boxes, &a.out_scores,
                      &a.out_classes, kOutNames);
        a.count = static_cast<int64_t*>(cc.data);
        DK_BACKEND_CALL(ctx, postprocess, inputs[0].dtype, a);
    });
}

DK_API dk_status dk_roi_align(dk_context* ctx, const dk_tensor* input, const dk_tensor* boxes, int32_t output_h,
                              int32_t output_w, double spatial_scale, int32_t sampling_ratio, int32_t aligned,
                              dk_tensor* out) {
    return guard_ctx("dk_roi_align", ctx, [&] {
        RoiAlignArgs a{};
        const Checked ic = check_input(ctx, "input", input);
        check_roi_image(ic, a);
        const Checked bc = check_roi_boxes(ctx, boxes, ic, -1, a);
        if (output_h < 1 || output_w < 1)
            bad(output_h < 1 ? "output_h" : "output_w",
                "expected an output size >= 1, got " + std::to_string(output_h < 1 ? output_h : output_w));
        check_roi_params(spatial_scale, aligned, sampling_ratio, a);
        a.out_h = output_h;
        a.out_w = output_w;
        const Shape shape{a.k, a.c, output_h, output_w};
        checked_numel("out", shape, ic.dtype);
        const Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, ic);
        check_shape(oc, shape, "[K, C, output_h, output_w]");
        check_disjoint(oc, ic);
        check_disjoint(oc, bc);
        a.src = ic.data;
        a.dst = oc.data;
        DK_BACKEND_CALL(ctx, roi_align_forward, ic.dtype, a);
    });
}

DK_API dk_status dk_roi_align_backward(dk_context* ctx, const dk_tensor* grad_out, const dk_tensor* boxes,
                                       double spatial_scale, int32_t sampling_ratio, int32_t aligned,
                                       dk_tensor* grad_input) {
    return guard_ctx("dk_roi_align_backward", ctx, [&] {
        RoiAlignArgs a{};
        const Checked gc = check_input(ctx, "grad_out", grad_out);
        check_floating(gc);
        if (gc.shape.size() != 4) bad(gc.name, "expected [K, C, output_h, output_w], got " + shape_string(gc.shape));
        if (gc.shape[2] < 1 || gc.shape[3] < 1 || gc.shape[2] > INT32_MAX || gc.shape[3] > INT32_MAX)
            bad(gc.name, "expected output sizes 1 .. 2^31 - 1, got " + shape_string(gc.shape));
        const Checked bc = check_roi_boxes(ctx, boxes, gc, gc.shape[0], a);
        check_roi_params(spatial_scale, aligned, sampling_ratio, a);
        a.out_h = int32_t(gc.shape[2]);
        a.out_w = int32_t(gc.shape[3]);
        const Checked xc = check_tensor(ctx, "grad_input", grad_input);
        check_same_dtype(xc, gc);
        check_roi_image(xc, a);
        if (xc.shape[1] != gc.shape[1])
            bad(xc.name, "expected C = " + std::to_string(gc.shape[1]) + " channels (grad_out's), got " +
                             shape_string(xc.shape));
        check_disjoint(xc, gc);
        check_disjoint(xc, bc);
        a.src = gc.data;
        a.dst = xc.data;
        DK_BACKEND_CALL(ctx, roi_align_backward, gc.dtype, a);
    });
}

}  // extern "C"
