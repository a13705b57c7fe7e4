// detect.cpp - the C API of the detection family: validate boxes, scores, classes and the
// parameters, then run the backend (kernels/detect, cpu/detect.cpp). NMS copies one int64, the kept
// count, to the host.
#include <cmath>
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

}  // extern "C"
