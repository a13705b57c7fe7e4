// optim_bodies.cuh - the per-element optimizer updates, shared by kernels/optim/optim.cu (cuda,
// emu) and the cpu backend, so a step gives the same bits on every backend: every product and sum
// is rounded on its own (never contracted into an FMA, which nvcc would do and the host compiler
// would not), divisions and square roots are IEEE-exact on both.
#pragma once

#include <cmath>

#include "deepkern/numeric.cuh"
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

// Elements [begin, end) of entry e with `stride` between a thread's elements: kOptimIlp loads
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

// optim_range for entry e's dtype under rule R (the call's a.rule).
template <OptimRule R>
DK_HD void optim_entry_range(const OptimStepArgs& a, const OptimEntry& e, float scale, int64_t first, int64_t end,
                             int64_t stride) {
    if constexpr (R == OptimRule::adamw) {
        const AdamWRule r{a.adamw, e.step_size, e.bias2_sqrt};
        if (e.dtype == int32_t(DType::f32)) optim_range<float>(e, r, scale, first, end, stride);
        else if (e.dtype == int32_t(DType::bf16)) optim_range<bf16>(e, r, scale, first, end, stride);
        else optim_range<f16>(e, r, scale, first, end, stride);
    } else {
        const SgdRule r{a.sgd, e.first != 0};
        if (e.dtype == int32_t(DType::f32)) optim_range<float>(e, r, scale, first, end, stride);
        else if (e.dtype == int32_t(DType::bf16)) optim_range<bf16>(e, r, scale, first, end, stride);
        else optim_range<f16>(e, r, scale, first, end, stride);
    }
}

DK_HD void optim_entry_range(const OptimStepArgs& a, const OptimEntry& e, float scale, int64_t first, int64_t end,
                             int64_t stride) {
    if (a.rule == OptimRule::adamw) optim_entry_range<OptimRule::adamw>(a, e, scale, first, end, stride);
    else optim_entry_range<OptimRule::sgd>(a, e, scale, first, end, stride);
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
