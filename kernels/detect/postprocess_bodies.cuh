// postprocess_bodies.cuh - the per-pair math of the fused detection postprocess (TensorRT
// EfficientNMS's shape), shared by the kernel (detect/postprocess.cu; cuda and emu) and the cpu
// backend, so the candidate test, the order, the suppression test and the padded slots are one code
// everywhere. A pair is (box, class) of one image: p = box * classes + class (one class per box,
// p = box, where the labels give it). Inputs in any floating dtype, math in f32.
#pragma once

#include <cstdint>

#include "activation/activations.cuh"
#include "detect/detect_bodies.cuh"
#include "detect/detect.h"

namespace dk {

template <typename T>
DK_HD float postprocess_raw(const PostprocessArgs& a, int64_t image, int64_t p) {
    return load_float(static_cast<const T*>(a.scores)[image * a.boxes_per_image * a.classes + p]);
}

DK_HD int64_t postprocess_class(const PostprocessArgs& a, int64_t image, int64_t p) {
    if (!a.labels) return p % a.classes;
    const int64_t i = image * a.boxes_per_image + p;
    return a.labels64 ? static_cast<const int64_t*>(a.labels)[i] : static_cast<const int32_t*>(a.labels)[i];
}

DK_HD float postprocess_score(const PostprocessArgs& a, float raw) { return a.sigmoid ? sigmoidf(raw) : raw; }

// Pair p's candidate key: the raw score's ordered bits (larger is better; the sigmoid keeps the
// order, so ranking the raw scores is exact and needs no exp), or 0 where the pair is no candidate:
// its score (after the sigmoid where asked) not above the threshold - NaN never is - or its class
// the background one.
template <typename T>
DK_HD uint32_t postprocess_key(const PostprocessArgs& a, int64_t image, int64_t p) {
    const float raw = postprocess_raw<T>(a, image, p);
    if (!(postprocess_score(a, raw) > a.score_threshold) || (a.has_background && postprocess_class(a, image, p) == a.background))
        return 0u;
    return ordered_bits(raw);
}

// Pair p's box, converted to corners.
template <typename T>
DK_HD Box postprocess_box(const PostprocessArgs& a, int64_t image, int64_t p) {
    const int64_t box = image * a.boxes_per_image + (a.labels ? p : p / a.classes);
    return box_convert(load_box(static_cast<const T*>(a.boxes), box), a.box_fmt, BoxFormat::xyxy);
}

// Whether kept candidate (box k, class kc) suppresses a later one (box b, class bc).
DK_HD bool postprocess_suppresses(const PostprocessArgs& a, const Box& k, int64_t kc, const Box& b, int64_t bc) {
    return (a.agnostic || kc == bc) && nms_suppresses(k, b, a.iou_threshold);
}

// Output slot `slot` of image `image`: pair p's box, score and class; a slot past the kept ones
// (p < 0) is padded with a zero box, score 0 and class -1.
template <typename T>
DK_HD void postprocess_emit(const PostprocessArgs& a, int64_t image, int64_t slot, int64_t p) {
    const int64_t o = image * a.max_det + slot;
    const Box b = p < 0 ? Box{{0.f, 0.f, 0.f, 0.f}} : postprocess_box<T>(a, image, p);
    for (int k = 0; k < 4; ++k) a.out_boxes[4 * o + k] = b.v[k];
    a.out_scores[o] = p < 0 ? 0.f : postprocess_score(a, postprocess_raw<T>(a, image, p));
    a.out_classes[o] = p < 0 ? -1 : postprocess_class(a, image, p);
}

}  // namespace dk
