// loss_bodies.cuh - the per-element and per-row math of the losses, and the fixed summation order
// of their reductions, shared by kernels/loss/loss.cu (cuda, emu) and the cpu backend, so the
// formulas and the order of every float addition cannot drift apart: cpu and emu give the same
// bits, and each backend the same bits on every run whatever its thread count or schedule.
#pragma once

#include <cmath>
#include <cstdint>

#include "deepkern/numeric.cuh"
#include "loss/loss.h"

namespace dk {

// log(1 + exp(x)) without overflow.
DK_HD float loss_softplus(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

// 1 / (1 + exp(-x)) without overflow.
DK_HD float loss_sigmoid(float x) {
    const float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

// sign(d): -1, 0 or 1, NaN for NaN (torch's sign).
DK_HD float loss_sign(float d) { return d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : d); }

// The loss of one element (mse, l1, smooth l1, bce with logits; pw: the element's pos_weight or 1).
DK_HD float elementwise_loss(LossKind k, float x, float t, float beta, float pw) {
    const float d = x - t;
    switch (k) {
        case LossKind::mse: return d * d;
        case LossKind::l1: return fabsf(d);
        case LossKind::smooth_l1: {
            const float ad = fabsf(d);
            return ad < beta ? 0.5f * d * d / beta : ad - 0.5f * beta;
        }
        default: {  // bce with logits, torch's form: (1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0))
            const float lw = 1.0f + (pw - 1.0f) * t;
            return (1.0f - t) * x + lw * (log1pf(expf(-fabsf(x))) + fmaxf(-x, 0.0f));
        }
    }
}

// d elementwise_loss / dx.
DK_HD float elementwise_grad(LossKind k, float x, float t, float beta, float pw) {
    const float d = x - t;
    switch (k) {
        case LossKind::mse: return 2.0f * d;
        case LossKind::l1: return loss_sign(d);
        case LossKind::smooth_l1: return fabsf(d) < beta ? d / beta : loss_sign(d);
        default: {
            const float lw = 1.0f + (pw - 1.0f) * t;
            return (1.0f - t) - lw * loss_sigmoid(-x);
        }
    }
}

// CenterNet's penalty-reduced focal loss of one element, from the logit x (p = sigmoid(x)):
// gt == 1: -(1 - p)^alpha log p; gt < 1: -(1 - gt)^beta p^alpha log(1 - p); otherwise 0.
// log p = -softplus(-x), log(1 - p) = -softplus(x).
DK_HD float focal_loss(float x, float gt, float alpha, float beta) {
    if (gt == 1.0f) return powf(loss_sigmoid(-x), alpha) * loss_softplus(-x);
    if (gt < 1.0f) return powf(1.0f - gt, beta) * powf(loss_sigmoid(x), alpha) * loss_softplus(x);
    return 0.0f;
}

// d focal_loss / dx: positives (1-p)^a (a p log p - (1-p)); negatives (1-gt)^b p^a (p - a (1-p) log(1-p)).
DK_HD float focal_grad(float x, float gt, float alpha, float beta) {
    const float p = loss_sigmoid(x), q = loss_sigmoid(-x);
    if (gt == 1.0f) return powf(q, alpha) * (-alpha * p * loss_softplus(-x) - q);
    if (gt < 1.0f) return powf(1.0f - gt, beta) * powf(p, alpha) * (p + alpha * q * loss_softplus(x));
    return 0.0f;
}

// Whether item i counts for the reduction's divisor: a non-ignored row (cross-entropy), a positive
// (focal loss), every element otherwise.
template <typename T, typename I>
DK_HD int64_t loss_count(const LossArgs& a, int64_t i) {
    if (a.kind == LossKind::cross_entropy) return static_cast<const I*>(a.target)[i] != a.ignore_index ? 1 : 0;
    if (a.kind == LossKind::centernet_focal) return load_float(static_cast<const T*>(a.target)[i]) == 1.0f ? 1 : 0;
    return 1;
}

// The loss of item i: an element's, or cross-entropy's row loss from rows (f32, from the row pass).
template <typename T>
DK_HD float loss_value(const LossArgs& a, const float* rows, int64_t i) {
    if (a.kind == LossKind::cross_entropy) return rows[i];
    const float x = load_float(static_cast<const T*>(a.input)[i]);
    const float t = load_float(static_cast<const T*>(a.target)[i]);
    if (a.kind == LossKind::centernet_focal) return focal_loss(x, t, a.alpha, a.beta);
    const float pw = a.pos_weight ? load_float(static_cast<const T*>(a.pos_weight)[i % a.pos_weight_len]) : 1.0f;
    return elementwise_loss(a.kind, x, t, a.beta, pw);
}

// Lane `lane` of chunk k: the sum of its items' losses (when values) and of their counts, in index order.
template <typename T, typename I>
DK_HD void loss_lane(const LossArgs& a, const float* rows, bool values, int64_t k, int lane, float& sum,
                     int64_t& count) {
    float s = 0.0f;
    int64_t c = 0;
    const int64_t end = (k + 1) * kLossChunk < a.n ? (k + 1) * kLossChunk : a.n;
    for (int64_t i = k * kLossChunk + lane; i < end; i += kLossLanes) {
        if (values) s += loss_value<T>(a, rows, i);
        c += loss_count<T, I>(a, i);
    }
    sum = s;
    count = c;
}

// Lane `lane` of the final pass: the sum of partials lane, lane + kLossLanes, ... in order.
DK_HD void loss_final_lane(const float* sums, const int64_t* counts, int64_t chunks, int lane, float& sum,
                           int64_t& count) {
    float s = 0.0f;
    int64_t c = 0;
    for (int64_t k = lane; k < chunks; k += kLossLanes) {
        s += sums[k];
        c += counts[k];
    }
    sum = s;
    count = c;
}

// The reduced loss from the total sum and count.
DK_HD float loss_reduced(LossReduction r, float sum, int64_t count) {
    if (r == LossReduction::mean) return sum / float(count);  // no items: 0 / 0 = NaN, as torch
    if (r == LossReduction::per_positive) return sum / float(count > 1 ? count : 1);
    return sum;
}

// The backward's factor for every item of a reduced loss: grad_out over the reduction's divisor.
template <typename T>
DK_HD float loss_grad_scale(const LossArgs& a, int64_t count) {
    const float g = load_float(static_cast<const T*>(a.grad_out)[0]);
    if (a.reduction == LossReduction::mean) return g / float(count);
    if (a.reduction == LossReduction::per_positive) return g / float(count > 1 ? count : 1);
    return g;
}

// The gradient of element i (element-wise losses, focal loss); scale: grad_out's share for reduced
// losses (loss_grad_scale), unused for none (grad_out[i] then).
template <typename T>
DK_HD float element_gradient(const LossArgs& a, float scale, int64_t i) {
    const float x = load_float(static_cast<const T*>(a.input)[i]);
    const float t = load_float(static_cast<const T*>(a.target)[i]);
    const float g = a.reduction == LossReduction::none ? load_float(static_cast<const T*>(a.grad_out)[i]) : scale;
    float d;
    if (a.kind == LossKind::centernet_focal) {
        d = focal_grad(x, t, a.alpha, a.beta);
    } else {
        const float pw = a.pos_weight ? load_float(static_cast<const T*>(a.pos_weight)[i % a.pos_weight_len]) : 1.0f;
        d = elementwise_grad(a.kind, x, t, a.beta, pw);
    }
    return g * d;
}

// ---- cross-entropy rows: 32 lanes per row (a warp on the GPU), lane l over classes l, l + 32, ...

constexpr int kCeLanes = 32;

// Row r's first logit and the stride between its classes.
DK_HD int64_t ce_row_base(const LossArgs& a, int64_t r) {
    return (r / a.inner) * a.classes * a.inner + r % a.inner;
}

// Row r's class index, or -1 for an ignored row, or -2 for one out of range.
template <typename I>
DK_HD int64_t ce_class(const LossArgs& a, int64_t r) {
    const int64_t y = int64_t(static_cast<const I*>(a.target)[r]);
    if (y == a.ignore_index) return -1;
    return y >= 0 && y < a.classes ? y : -2;
}

template <typename T>
DK_HD float ce_lane_max(const LossArgs& a, int64_t base, int lane) {
    const T* x = static_cast<const T*>(a.input);
    float m = -INFINITY;
    for (int64_t c = lane; c < a.classes; c += kCeLanes) m = fmaxf(m, load_float(x[base + c * a.inner]));
    return m;
}

// Lane sums of exp(x - m) and of (x - m).
template <typename T>
DK_HD void ce_lane_sums(const LossArgs& a, int64_t base, int lane, float m, float& se, float& sx) {
    const T* x = static_cast<const T*>(a.input);
    float e = 0.0f, s = 0.0f;
    for (int64_t c = lane; c < a.classes; c += kCeLanes) {
        const float d = load_float(x[base + c * a.inner]) - m;
        e += expf(d);
        s += d;
    }
    se = e;
    sx = s;
}

// The row's loss from its max m and the summed exp(x - m), (x - m): log-sum-exp - (1 - eps) x_y -
// eps mean_c x_c, with y's logit xy; y < 0: 0 (ignored) or NaN (out of range).
DK_HD float ce_row_loss(const LossArgs& a, int64_t y, float m, float se, float sx, float xy) {
    if (y == -1) return 0.0f;
    if (y < 0) return NAN;
    const float eps = a.smoothing;
    return logf(se) - (1.0f - eps) * (xy - m) - eps * (sx / float(a.classes));
}

// Row r's gradient over class c: scale (softmax_c - (1 - eps) [c == y] - eps / C).
DK_HD float ce_grad(const LossArgs& a, int64_t y, int64_t c, float x, float m, float inv_se, float scale) {
    if (y == -1) return 0.0f;
    if (y < 0) return NAN;
    const float eps = a.smoothing;
    const float target = (c == y ? 1.0f - eps : 0.0f) + eps / float(a.classes);
    return scale * (expf(x - m) * inv_se - target);
}

}  // namespace dk
