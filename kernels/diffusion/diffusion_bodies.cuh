// diffusion_bodies.cuh - the per-element sampler step and the per-row Gaussian-mixture denoiser,
// shared by kernels/diffusion/diffusion.cu (cuda, emu) and the cpu backend. The step's formula is documented
// with dk_diffusion_step in deepkern.h; its noise comes from the same Philox stream as dk_randn.
#pragma once

#include <cmath>

#include "diffusion/diffusion.h"
#include "deepkern/packs.cuh"
#include "deepkern/philox.cuh"

namespace dk {

// N(0, 1) draws for elements i .. i+V-1 of the stream (seed, offset), as dk_randn makes them.
// With packs (V a multiple of 4, i a multiple of V) each Philox block serves four elements.
template <int V>
DK_HD Floats<V> normals(uint64_t seed, uint64_t offset, int64_t i) {
    Floats<V> z;
    if constexpr (V % 4 == 0) {
        DK_UNROLL
        for (int b = 0; b < V / 4; ++b) {
            const Philox4 r = philox4x32_10(offset + uint64_t(i / 4 + b), 0, seed);
            box_muller(r.v[0], r.v[1], &z.v[4 * b], &z.v[4 * b + 1]);
            box_muller(r.v[2], r.v[3], &z.v[4 * b + 2], &z.v[4 * b + 3]);
        }
    } else {
        for (int k = 0; k < V; ++k) z.v[k] = philox_normal(seed, offset, uint64_t(i + k));
    }
    return z;
}

template <typename T>
struct DiffusionStep {
    dk_step_coefs c;
    const T* x;
    const T* model;
    const T* uncond;
    const T* extra1;
    const T* extra2;
    T* out;
    T* out2;
    const float* noise;  // the stream's normals drawn beforehand, by element (cpu); nullptr: drawn here

    static DiffusionStep of(const StepArgs& a) {
        return {a.c,
                static_cast<const T*>(a.x),
                static_cast<const T*>(a.model),
                static_cast<const T*>(a.uncond),
                static_cast<const T*>(a.extra1),
                static_cast<const T*>(a.extra2),
                static_cast<T*>(a.out),
                static_cast<T*>(a.out2),
                nullptr};
    }

    template <int V>
    DK_HD void apply(int64_t i, int64_t, int64_t) const {
        const Floats<V> xv = load<V>(x + i);
        Floats<V> m = load<V>(model + i);
        if (uncond) {
            const Floats<V> u = load<V>(uncond + i);
            each<V>([&](int k) { m.v[k] = u.v[k] + c.guidance * (m.v[k] - u.v[k]); });
        }
        Floats<V> e1{}, e2{}, z{}, o, o2;
        if (extra1) e1 = load<V>(extra1 + i);
        if (extra2) e2 = load<V>(extra2 + i);
        if (c.noise != 0.0f) z = noise ? load<V>(noise + i) : normals<V>(c.seed, c.offset, i);
        each<V>([&](int k) {
            float x0 = c.x0_x * xv.v[k] + c.x0_m * m.v[k];
            if (c.clip > 0.0f) x0 = fminf(fmaxf(x0, -c.clip), c.clip);
            const float eps = c.eps_x * xv.v[k] + c.eps_m * m.v[k] + c.eps_x0 * x0;
            o.v[k] = c.out_x * xv.v[k] + c.out_x0 * x0 + c.out_eps * eps + c.out_e1 * e1.v[k] +
                     c.out_e2 * e2.v[k] + c.noise * z.v[k];
            o2.v[k] = c.o2_x * xv.v[k] + c.o2_x0 * x0 + c.o2_eps * eps;
        });
        store<V>(out + i, o);
        if (out2) store<V>(out2 + i, o2);
    }
};

constexpr int kGmmMaxDims = 64;

// E[x0 | x_t] for row r. Components share the isotropic noised variance v = a^2 s^2 + b^2, so the
// responsibilities are a softmax of log w_k - |x_t - a mu_k|^2 / (2 v), and each component's
// posterior mean is mu_k + g (x_t - a mu_k), g = a s^2 / v; summed: g x_t + (1 - g a) sum r_k mu_k.
// The softmax runs online (one pass over the components).
DK_HD void gmm_row(const GmmArgs& p, int64_t r) {
    const float* xt = p.x + r * p.dims;
    const float var = p.a * p.a * p.data_std * p.data_std + p.b * p.b;
    const float inv_2var = 0.5f / var;
    float acc[kGmmMaxDims];
    for (int64_t j = 0; j < p.dims; ++j) acc[j] = 0.0f;
    float best = -INFINITY, total = 0.0f;
    for (int64_t k = 0; k < p.components; ++k) {
        const float* mu = p.means + k * p.dims;
        float d2 = 0.0f;
        for (int64_t j = 0; j < p.dims; ++j) {
            const float d = xt[j] - p.a * mu[j];
            d2 += d * d;
        }
        const float logit = p.log_weights[k] - d2 * inv_2var;
        if (logit > best) {  // rescale what was summed so far to the new maximum
            const float scale = expf(best - logit);
            total *= scale;
            for (int64_t j = 0; j < p.dims; ++j) acc[j] *= scale;
            best = logit;
        }
        const float w = expf(logit - best);
        total += w;
        for (int64_t j = 0; j < p.dims; ++j) acc[j] += w * mu[j];
    }
    const float g = p.a * p.data_std * p.data_std / var;
    const float inv_total = 1.0f / total;
    for (int64_t j = 0; j < p.dims; ++j) p.out[r * p.dims + j] = g * xt[j] + (1.0f - g * p.a) * acc[j] * inv_total;
}

}  // namespace dk
