// optim_bodies.cuh - the per-element optimizer updates, shared by kernels/optim/optim.cu (cuda,
// emu) and the cpu backend, so a step gives the same bits on every backend: every product and sum
// is rounded on its own (never contracted into an FMA, which nvcc would do and the host compiler
// would not), divisions and square roots are IEEE-exact on both.
#pragma once

#include <cmath>

#include "deepkern/numeric.cuh"
#include "deepkern/packs.cuh"
#include "optim/optim.h"

namespace dk {

DK_HD float om_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

DK_HD float om_add(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

DK_HD float om_div(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}

DK_HD float om_sqrt(float a) {
#if defined(__CUDA_ARCH__)
    return __fsqrt_rn(a);
#else
    return std::sqrt(a);
#endif
}

// torch.optim.AdamW (the single-tensor path), in its order of operations:
//   p *= 1 - lr wd;  m = m + (1 - b1) (g - m)  (lerp);  v = v b2 + (1 - b2) g g;
//   p += -(lr / (1 - b1^t)) * (m / (sqrt(v) / sqrt(1 - b2^t) + eps))
struct AdamWRule {
    AdamWCoefs c;
    float step_size, bias2_sqrt;
    DK_HD void apply(float& p, float g, float& m, float& v) const {
        p = om_mul(p, c.decay);
        m = om_add(m, om_mul(c.one_minus_beta1, om_add(g, -m)));
        v = om_add(om_mul(v, c.beta2), om_mul(om_mul(c.one_minus_beta2, g), g));
        const float denom = om_add(om_div(om_sqrt(v), bias2_sqrt), c.eps);
        p = om_add(p, om_mul(-step_size, om_div(m, denom)));
    }
};

// torch.optim.SGD: g += wd p; with momentum, buf = g on a param's first step, else
// buf = momentum buf + (1 - dampening) g, and g = nesterov ? g + momentum buf : buf; p += -lr g.
struct SgdRule {
    SgdCoefs c;
    bool first;
    DK_HD void apply(float& p, float g, float& buf, float&) const {
        if (c.weight_decay != 0.0f) g = om_add(g, om_mul(c.weight_decay, p));
        if (c.momentum != 0.0f) {
            buf = first ? g : om_add(om_mul(c.momentum, buf), om_mul(c.one_minus_dampening, g));
            g = c.nesterov ? om_add(g, om_mul(c.momentum, buf)) : buf;
        }
        p = om_add(p, om_mul(-c.lr, g));
    }
};

// Elements [first, end) of entry e with `stride` between a thread's elements: kOptimIlp loads
// in flight, then the updates, then the stores. T: the dtype of param and grad.
template <typename T, class Rule>
DK_HD void optim_range(const OptimEntry& e, const Rule& rule, float scale, int64_t first, int64_t end,
                       int64_t stride) {
    T* param = static_cast<T*>(e.param);
    const T* grad = static_cast<const T*>(e.grad);
    for (int64_t base = first; base < end; base += stride * kOptimIlp) {
        float p[kOptimIlp], g[kOptimIlp], s1[kOptimIlp], s2[kOptimIlp];
        DK_UNROLL
        for (int k = 0; k < kOptimIlp; ++k) {
            const int64_t i = base + k * stride;
            p[k] = g[k] = s1[k] = s2[k] = 0.0f;
            if (i < end) {
                p[k] = e.master ? e.master[i] : load_float(param[i]);
                g[k] = om_mul(load_float(grad[i]), scale);
                if (e.state1) s1[k] = e.state1[i];
                if (e.state2) s2[k] = e.state2[i];
            }
        }
        DK_UNROLL
        for (int k = 0; k < kOptimIlp; ++k) rule.apply(p[k], g[k], s1[k], s2[k]);
        DK_UNROLL
        for (int k = 0; k < kOptimIlp; ++k) {
            const int64_t i = base + k * stride;
            if (i < end) {
                if (e.master) e.master[i] = p[k];
                store_float(param[i], p[k]);
                if (e.state1) e.state1[i] = s1[k];
                if (e.state2) e.state2[i] = s2[k];
            }
        }
    }
}

// The same over a chunk [begin, end) of an entry whose tensors are all 16-byte aligned (begin a
// multiple of 8): thread `lane` of `lanes` takes V consecutive elements at a time (a 16-byte pack
// of T, 8 for f16 / bf16), their f32 state and master weights in packs of 4 (one group after the
// other, to stay in registers), the elements past the last whole V one by one. The per-element
// math is optim_range's: the same bits.
template <typename T, class Rule>
DK_HD void optim_packed(const OptimEntry& e, const Rule& rule, float scale, int64_t begin, int64_t end, int64_t lane,
                        int64_t lanes) {
    constexpr int V = Pack16<T>::size, G = 4;
    T* param = static_cast<T*>(e.param);
    const T* grad = static_cast<const T*>(e.grad);
    const int64_t whole = begin + (end - begin) / V * V;
    for (int64_t i = begin + V * lane; i < whole; i += V * lanes) {
        Elems<T, V> pe{};
        if (!e.master) pe = load_elems<V>(param + i);
        const Elems<T, V> ge = load_elems<V>(grad + i);
        DK_UNROLL
        for (int c = 0; c < V; c += G) {
            Floats<G> p, s1{}, s2{};
            if (e.master) p = load<G>(e.master + i + c);
            else each<G>([&](int k) { p.v[k] = load_float(pe.v[c + k]); });
            if (e.state1) s1 = load<G>(e.state1 + i + c);
            if (e.state2) s2 = load<G>(e.state2 + i + c);
            each<G>([&](int k) {
                rule.apply(p.v[k], om_mul(load_float(ge.v[c + k]), scale), s1.v[k], s2.v[k]);
                store_float(pe.v[c + k], p.v[k]);
            });
            if (e.master) store<G>(e.master + i + c, p);
            if (e.state1) store<G>(e.state1 + i + c, s1);
            if (e.state2) store<G>(e.state2 + i + c, s2);
        }
        store_elems<V>(param + i, pe);
    }
    optim_range<T>(e, rule, scale, whole + lane, end, lanes);
}

// Elements [begin, end) of entry e by one thread (the cpu backend's tasks): one plain loop whose
// tests of master / state are the same for every element, so the compiler unswitches and
// vectorizes it. The per-element math is optim_range's: the same bits.
template <typename T, class Rule>
DK_HD void optim_contiguous(const OptimEntry& e, const Rule& rule, float scale, int64_t begin, int64_t end) {
    T* param = static_cast<T*>(e.param);
    const T* grad = static_cast<const T*>(e.grad);
    float* const master = e.master;
    float* const state1 = e.state1;
    float* const state2 = e.state2;
    for (int64_t i = begin; i < end; ++i) {
        float p = master ? master[i] : load_float(param[i]);
        float s1 = state1 ? state1[i] : 0.0f;
        float s2 = state2 ? state2[i] : 0.0f;
        rule.apply(p, om_mul(load_float(grad[i]), scale), s1, s2);
        if (master) master[i] = p;
        store_float(param[i], p);
        if (state1) state1[i] = s1;
        if (state2) state2[i] = s2;
    }
}

// Chunk [begin, end) of entry e, thread `lane` of `lanes`: one plain loop for a single lane, else
// packed where e.packed says its tensors allow it.
template <typename T, class Rule>
DK_HD void optim_chunk(const OptimEntry& e, const Rule& rule, float scale, int64_t begin, int64_t end, int64_t lane,
                       int64_t lanes) {
#if !defined(__CUDA_ARCH__)
    if (lanes == 1) {  // the cpu's tasks; never on the device, whose kernel stays free of this path
        optim_contiguous<T>(e, rule, scale, begin, end);
        return;
    }
#endif
    if (e.packed) optim_packed<T>(e, rule, scale, begin, end, lane, lanes);
    else optim_range<T>(e, rule, scale, begin + lane, end, lanes);
}

// Chunk [begin, end) of entry e (whose dtype is T's) under rule R, thread lane of lanes.
template <OptimRule R, typename T>
DK_HD void optim_typed_chunk(const OptimStepArgs& a, const OptimEntry& e, float scale, int64_t begin, int64_t end,
                             int64_t lane, int64_t lanes) {
    if constexpr (R == OptimRule::adamw) optim_chunk<T>(e, AdamWRule{a.adamw, e.step_size, e.bias2_sqrt}, scale, begin, end, lane, lanes);
    else optim_chunk<T>(e, SgdRule{a.sgd, e.first != 0}, scale, begin, end, lane, lanes);
}

// The same for entry e's dtype and the call's rule.
DK_HD void optim_entry_chunk(const OptimStepArgs& a, const OptimEntry& e, float scale, int64_t begin, int64_t end,
                             int64_t lane, int64_t lanes) {
    const bool adamw = a.rule == OptimRule::adamw;
    if (e.dtype == int32_t(DType::f32)) {
        if (adamw) optim_typed_chunk<OptimRule::adamw, float>(a, e, scale, begin, end, lane, lanes);
        else optim_typed_chunk<OptimRule::sgd, float>(a, e, scale, begin, end, lane, lanes);
    } else if (e.dtype == int32_t(DType::bf16)) {
        if (adamw) optim_typed_chunk<OptimRule::adamw, bf16>(a, e, scale, begin, end, lane, lanes);
        else optim_typed_chunk<OptimRule::sgd, bf16>(a, e, scale, begin, end, lane, lanes);
    } else {
        if (adamw) optim_typed_chunk<OptimRule::adamw, f16>(a, e, scale, begin, end, lane, lanes);
        else optim_typed_chunk<OptimRule::sgd, f16>(a, e, scale, begin, end, lane, lanes);
    }
}

// The squares of elements [begin, end) of gradient e summed, each thread `stride` apart.
template <typename T>
DK_HD float square_sum(const OptimEntry& e, int64_t first, int64_t end, int64_t stride) {
    const T* g = static_cast<const T*>(e.param);
    float s = 0.0f;
    for (int64_t i = first; i < end; i += stride) {
        const float v = load_float(g[i]);
        s = om_add(s, om_mul(v, v));
    }
    return s;
}

DK_HD float entry_square_sum(const OptimEntry& e, int64_t first, int64_t end, int64_t stride) {
    if (e.dtype == int32_t(DType::f32)) return square_sum<float>(e, first, end, stride);
    if (e.dtype == int32_t(DType::bf16)) return square_sum<bf16>(e, first, end, stride);
    return square_sum<f16>(e, first, end, stride);
}

template <typename T>
DK_HD void scale_range(const OptimEntry& e, float scale, int64_t first, int64_t end, int64_t stride) {
    T* g = static_cast<T*>(e.param);
    for (int64_t i = first; i < end; i += stride) store_float(g[i], om_mul(load_float(g[i]), scale));
}

// The gradients of entry e times scale, in place (torch's grad.mul_(clip_coef)).
DK_HD void entry_scale(const OptimEntry& e, float scale, int64_t first, int64_t end, int64_t stride) {
    if (e.dtype == int32_t(DType::f32)) scale_range<float>(e, scale, first, end, stride);
    else if (e.dtype == int32_t(DType::bf16)) scale_range<bf16>(e, scale, first, end, stride);
    else scale_range<f16>(e, scale, first, end, stride);
}

// clip_grad_norm_'s coefficient: max_norm / (norm + 1e-6), clamped to at most 1.
DK_HD float clip_coefficient(float max_norm, float norm) {
    const float c = om_div(max_norm, om_add(norm, 1e-6f));
    return c > 1.0f ? 1.0f : c;  // NaN stays NaN, as torch's clamp keeps it
}

}  // namespace dk
