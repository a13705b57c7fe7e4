// flow_bodies.cuh - the affine coupling's per-element math and per-row work, shared by
// kernels/flow/flow.cu (cuda, emu) and the cpu backend, so the formulas cannot drift apart.
//
// A row (one sample) of m elements is served by L = coupling_lanes(m) lanes of a warp (the power
// of two >= m, at most 32: a 2-D flow's rows of one element pack 32 to a warp): lane l takes the
// elements l, l + L, ... and sums its log s; the L partial sums are then combined by the xor
// butterfly of a warp shuffle (v += shfl_xor(v, o) for o = L/2, ..., 2, 1, which stays inside
// the row's aligned group of L lanes), whose first-lane result the cpu backend reproduces with the
// same additions in the same order: the log-det has the same bits on every run and on every
// backend.
#pragma once

#include <cmath>

#include "deepkern/numeric.cuh"
#include "flow/flow.h"

namespace dk {

constexpr int kCouplingLanes = 32;  // lanes per row at most: a warp

// Lanes per row for rows of m elements: the power of two >= m, from 1 to 32.
DK_HD int coupling_lanes(int64_t m) {
    int l = 1;
    while (l < kCouplingLanes && l < m) l *= 2;
    return l;
}

// Glow's scale: s = sigmoid(raw + 2) (openai/glow model.py: scale = sigmoid(h[..., 1::2] + 2.)).
DK_HD float coupling_scale(float raw) { return 1.0f / (1.0f + expf(-(raw + 2.0f))); }

// log sigmoid(raw + 2), without the underflow of log(s) for very negative raw.
DK_HD float coupling_log_scale(float raw) {
    const float a = raw + 2.0f;
    return a < 0.0f ? a - log1pf(expf(a)) : -log1pf(expf(-a));
}

// Lane `lane` of the `lanes` serving row r of the forward or inverse: writes its elements of out,
// returns its part of sum_j log s.
template <typename T>
DK_HD float coupling_lane(const CouplingArgs& a, int64_t r, int lane, int lanes) {
    const T* in = static_cast<const T*>(a.in) + r * a.m;
    const T* shift = static_cast<const T*>(a.h) + r * 2 * a.m;
    const T* raw = shift + a.m;
    T* out = static_cast<T*>(a.out) + r * a.m;
    float part = 0.0f;
    for (int64_t j = lane; j < a.m; j += lanes) {
        const float rv = load_float(raw[j]), t = load_float(shift[j]), v = load_float(in[j]);
        const float s = coupling_scale(rv);
        store_float(out[j], a.inverse ? v / s - t : (v + t) * s);
        part += coupling_log_scale(rv);
    }
    return part;
}

// Row r's log-det from its lanes' total (already reduced).
DK_HD void coupling_store_logdet(const CouplingArgs& a, int64_t r, float total) {
    if (!a.logdet) return;
    const float v = a.inverse ? -total : total;
    a.logdet[r] = a.accumulate ? a.logdet[r] + v : v;
}

// Lane `lane` of the `lanes` serving row r of the backward: y = (x + t) s, s = sigmoid(raw + 2),
// logdet += log s:  dx = dy s;  dt = dy s;  draw = dy (x + t) s (1 - s) + dlogdet (1 - s).
template <typename T>
DK_HD void coupling_backward_lane(const CouplingBackwardArgs& a, int64_t r, int lane, int lanes) {
    const T* x = static_cast<const T*>(a.x) + r * a.m;
    const T* shift = static_cast<const T*>(a.h) + r * 2 * a.m;
    const T* raw = shift + a.m;
    const T* gy = static_cast<const T*>(a.grad_y) + r * a.m;
    T* gx = static_cast<T*>(a.grad_x) + r * a.m;
    T* gshift = static_cast<T*>(a.grad_h) + r * 2 * a.m;
    T* graw = gshift + a.m;
    const float gl = a.grad_logdet ? a.grad_logdet[r] : 0.0f;
    for (int64_t j = lane; j < a.m; j += lanes) {
        const float t = load_float(shift[j]), v = load_float(x[j]), g = load_float(gy[j]);
        const float s = coupling_scale(load_float(raw[j]));
        const float gs = g * s;
        store_float(gx[j], gs);
        store_float(gshift[j], gs);
        store_float(graw[j], (gs * (v + t) + gl) * (1.0f - s));
    }
}

}  // namespace dk
