// detect_bodies.cuh - the per-box and per-pair math of the detection family, shared by the kernels
// (detect/boxes.cu, detect/nms.cu; cuda and emu) and the cpu backend, so torchvision's formulas,
// the NMS order and the suppression test are one code everywhere. f16 / bf16 in f32.
#pragma once

#include <cstdint>

#include "deepkern/numeric.cuh"
#include "detect/detect.h"

namespace dk {

struct Box {
    float v[4];
};

template <typename T>
DK_HD Box load_box(const T* p, int64_t i) {
    return {{load_float(p[4 * i]), load_float(p[4 * i + 1]), load_float(p[4 * i + 2]), load_float(p[4 * i + 3])}};
}

// torchvision's _box_inter_union / box_iou on xyxy boxes: the intersection's sides clamped at 0 (NaN
// passes, as torch's clamp), inter / (area_a + area_b - inter) with no +1: two boxes of zero area
// give 0 / 0 = NaN, as torchvision does. nvcc may fuse an area's product into the sum (as in
// torchvision's CUDA kernel), so an IoU within an f32 rounding of the NMS threshold may be decided
// differently on cuda than on cpu / emu; exact inputs (small integers) give one answer everywhere.
DK_HD float box_iou_of(const Box& a, const Box& b) {
    const float left = a.v[0] > b.v[0] ? a.v[0] : b.v[0], right = a.v[2] < b.v[2] ? a.v[2] : b.v[2];
    const float top = a.v[1] > b.v[1] ? a.v[1] : b.v[1], bottom = a.v[3] < b.v[3] ? a.v[3] : b.v[3];
    const float w = right - left < 0.f ? 0.f : right - left, h = bottom - top < 0.f ? 0.f : bottom - top;
    const float inter = w * h;
    const float area_a = (a.v[2] - a.v[0]) * (a.v[3] - a.v[1]), area_b = (b.v[2] - b.v[0]) * (b.v[3] - b.v[1]);
    return inter / (area_a + area_b - inter);
}

// Whether kept box a suppresses b: IoU strictly above the threshold (NaN never suppresses).
DK_HD bool nms_suppresses(const Box& a, const Box& b, float threshold) { return box_iou_of(a, b) > threshold; }

// A float's bits as an unsigned number in the float's order (negatives reversed below the positives),
// -0 as +0: -inf maps to 0x007fffff, so a number's key is never 0.
DK_HD uint32_t ordered_bits(float v) {
    const uint32_t u = v == 0.f ? 0u : float_to_bits(v);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

// A top-k order as one unique 64-bit key, ascending: decreasing 32-bit value (a score's bits or
// ordered bits), ties by lower index; the low 32 bits are the index (callers keep it below 2^32).
DK_HD uint64_t rank_key(uint32_t value, int64_t i) { return uint64_t(~value) << 32 | uint64_t(uint32_t(i)); }
DK_HD int64_t rank_key_index(uint64_t key) { return int64_t(key & 0xffffffffu); }
DK_HD uint32_t rank_key_value(uint64_t key) { return ~uint32_t(key >> 32); }

// The NMS order: decreasing score, NaN first (torch.sort with descending=True, which torchvision's
// nms uses, takes NaN as the largest), -0 tied with +0, ties by lower index (a stable sort).
DK_HD uint64_t nms_key(float score, int64_t i) { return rank_key(score != score ? 0xffffffffu : ordered_bits(score), i); }

// Box i's class (every box in class 0 without classes).
DK_HD int64_t nms_class(const NmsArgs& a, int64_t i) {
    if (!a.classes) return 0;
    return a.classes64 ? static_cast<const int64_t*>(a.classes)[i] : static_cast<const int32_t*>(a.classes)[i];
}

// torchvision's box_convert, each pair of formats directly (as torchvision: xywh <-> cxcywh does not
// pass through xyxy).
DK_HD Box box_convert(const Box& b, BoxFormat from, BoxFormat to) {
    if (from == to) return b;
    const float* v = b.v;
    if (from == BoxFormat::xyxy) {
        const float w = v[2] - v[0], h = v[3] - v[1];
        if (to == BoxFormat::xywh) return {{v[0], v[1], w, h}};
        return {{(v[0] + v[2]) / 2, (v[1] + v[3]) / 2, w, h}};
    }
    if (from == BoxFormat::xywh) {
        if (to == BoxFormat::xyxy) return {{v[0], v[1], v[0] + v[2], v[1] + v[3]}};
        return {{v[0] + v[2] / 2, v[1] + v[3] / 2, v[2], v[3]}};
    }
    if (to == BoxFormat::xyxy)
        return {{v[0] - 0.5f * v[2], v[1] - 0.5f * v[3], v[0] + 0.5f * v[2], v[1] + 0.5f * v[3]}};
    return {{v[0] - v[2] / 2, v[1] - v[3] / 2, v[2], v[3]}};
}

// torch.clamp(v, 0, hi): NaN stays NaN.
DK_HD float clamp_to(float v, float hi) { return v < 0.f ? 0.f : (v > hi ? hi : v); }

// Box i of a BoxMapArgs: converted, its area ((x2 - x1) * (y2 - y1), torchvision's box_area), or
// clipped (torchvision's clip_boxes_to_image). Reads 16 bytes per box (f32), writes 16 or 4.
template <typename T>
struct BoxMap {
    BoxMapArgs a;

    DK_HD void operator()(int64_t i) const {
        const Box b = load_box(static_cast<const T*>(a.src), i);
        T* dst = static_cast<T*>(a.dst);
        if (a.op == BoxOp::area) {
            store_float(dst[i], (b.v[2] - b.v[0]) * (b.v[3] - b.v[1]));
            return;
        }
        const Box r = a.op == BoxOp::convert
                          ? box_convert(b, a.in_fmt, a.out_fmt)
                          : Box{{clamp_to(b.v[0], a.width), clamp_to(b.v[1], a.height), clamp_to(b.v[2], a.width),
                                 clamp_to(b.v[3], a.height)}};
        for (int k = 0; k < 4; ++k) store_float(dst[4 * i + k], r.v[k]);
    }
};

// Element e = i * m + j of box_iou's [n, m] output.
template <typename T>
struct BoxIou {
    BoxIouArgs a;

    DK_HD void operator()(int64_t e) const {
        const Box x = load_box(static_cast<const T*>(a.a), e / a.m), y = load_box(static_cast<const T*>(a.b), e % a.m);
        store_float(static_cast<T*>(a.out)[e], box_iou_of(x, y));
    }
};

}  // namespace dk
