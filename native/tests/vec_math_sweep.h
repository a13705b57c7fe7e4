// vec_math_sweep.h - the f32 functions of deepkern/vec_math.h against double references, swept
// over f32 bit patterns, shared by vec_math_test (bounds) and vec_math_bench (libmvec and libm).
//
// Error is in units of the f32 spacing at the exact value (2^-149 for a subnormal or zero
// result): a correctly rounded result is within 0.5. The references are glibc's double functions
// (< 1 ulp in double), so the measured error is exact to ~2^-29 ulp; where the double reference
// itself rounds across an f32 rounding boundary (double rounding) this costs at most that much.
// A reference NaN wants a NaN, a reference that rounds to +-inf in f32 wants exactly that.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <thread>
#include <vector>

#include "deepkern/vec_math.h"

// name, vec_math function: the list the loops, references and bounds follow.
#define DK_VM_FUNCTIONS(X)            \
    X(exp, exp_f32)                   \
    X(expm1, expm1_f32)               \
    X(log1p, log1p_f32)               \
    X(tanh, tanh_f32)                 \
    X(erf, erf_f32)                   \
    X(erfc, erfc_f32)                 \
    X(normal_cdf, normal_cdf_f32)     \
    X(gelu, gelu_f32)                 \
    X(gelu_grad, gelu_grad_f32)       \
    X(gelu_tanh, gelu_tanh_f32)       \
    X(gelu_tanh_grad, gelu_tanh_grad_f32) \
    X(sigmoid, sigmoid_f32)           \
    X(silu, silu_f32)

namespace vm_sweep {

enum Fn {
#define DK_VM_ENUM(name, fn) fn_##name,
    DK_VM_FUNCTIONS(DK_VM_ENUM)
#undef DK_VM_ENUM
    fn_count
};

inline const char* fn_name(int f) {
    static const char* names[] = {
#define DK_VM_NAME(name, fn) #name,
        DK_VM_FUNCTIONS(DK_VM_NAME)
#undef DK_VM_NAME
    };
    return names[f];
}

using ArrayFn = void (*)(const float*, float*, int);

// The exact value, to double precision. Where a product x f(x) is NaN at -inf in f32 (vec_math's
// nan_at_minus_inf), so is the reference's.
inline double reference(int f, double x) {
    const double inf = std::numeric_limits<double>::infinity();
    const double sqrt8_pi = 1.5957691216057307, a = 0.044715;
    switch (f) {
        case fn_exp: return std::exp(x);
        case fn_expm1: return std::expm1(x);
        case fn_log1p: return std::log1p(x);
        case fn_tanh: return std::tanh(x);
        case fn_erf: return std::erf(x);
        case fn_erfc: return std::erfc(x);
        case fn_normal_cdf: return 0.5 * std::erfc(-x * M_SQRT1_2);
        case fn_gelu: return x * 0.5 * std::erfc(-x * M_SQRT1_2);
        case fn_gelu_grad:
            if (x == -inf) return std::nan("");
            if (x == inf) return 1.0;
            return 0.5 * std::erfc(-x * M_SQRT1_2) + x * std::exp(-0.5 * x * x) * 0.3989422804014327;
        case fn_gelu_tanh: {
            if (x == -inf) return std::nan("");
            if (x == inf) return inf;
            const double v = sqrt8_pi * (x + a * x * x * x);
            return x / (1.0 + std::exp(-v));
        }
        case fn_gelu_tanh_grad: {
            if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
            const double v = sqrt8_pi * (x + a * x * x * x), dv = sqrt8_pi * (1.0 + 3.0 * a * x * x);
            const double e = std::exp(-std::fabs(v));  // s (1 - s) = e / (1 + e)^2 either side
            const double s = v < 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
            return s + x * dv * (e / ((1.0 + e) * (1.0 + e)));
        }
        case fn_sigmoid: return x < 0 ? std::exp(x) / (1.0 + std::exp(x)) : 1.0 / (1.0 + std::exp(-x));
        case fn_silu:
            if (x == -inf) return std::nan("");
            return x < 0 ? x * std::exp(x) / (1.0 + std::exp(x)) : x / (1.0 + std::exp(-x));
        default: return std::nan("");
    }
}

// The gradients are sums whose terms cancel at their roots (gelu' at x = -0.7518): there the
// error is counted in units of the spacing at the larger of |value| and the sum of the terms'
// magnitudes, the accuracy that the inputs' own rounding allows.
inline double term_scale(int f, double x) {
    if (!std::isfinite(x)) return 0.0;
    const double sqrt8_pi = 1.5957691216057307, a = 0.044715;
    switch (f) {
        case fn_gelu_grad: return 0.5 * std::erfc(-x * M_SQRT1_2) + std::fabs(x) * std::exp(-0.5 * x * x) * 0.3989422804014327;
        case fn_gelu_tanh_grad: {
            const double v = sqrt8_pi * (x + a * x * x * x), dv = sqrt8_pi * (1.0 + 3.0 * a * x * x);
            const double e = std::exp(-std::fabs(v));
            return (v < 0 ? e / (1.0 + e) : 1.0 / (1.0 + e)) + std::fabs(x) * dv * (e / ((1.0 + e) * (1.0 + e)));
        }
        default: return 0.0;
    }
}

inline double ulp_error(double ref, float got, double scale = 0.0) {
    const double bad = std::numeric_limits<double>::infinity();
    if (std::isnan(ref) || std::isnan(got)) return std::isnan(ref) && std::isnan(got) ? 0.0 : bad;
    const float rf = float(ref), at = float(std::max(std::fabs(ref), scale));
    if (std::isinf(rf) || std::isinf(got)) return rf == got ? 0.0 : bad;
    const int e = at == 0.0f ? -126 : std::max(std::ilogb(at), -126);
    return std::fabs(double(got) - ref) / std::ldexp(1.0, e - 23);
}

// 1 / the spacing ulp_error divides by, or 0 where it takes its special paths (NaN, +-inf).
inline double inverse_spacing(double ref, double scale) {
    const float rf = float(ref), at = float(std::max(std::fabs(ref), scale));
    if (std::isnan(ref) || std::isinf(rf)) return 0.0;
    const int e = at == 0.0f ? -126 : std::max(std::ilogb(at), -126);
    return std::ldexp(1.0, 23 - e);
}

inline float bits_float(uint32_t u) { return dk::cpu::vm_bits_to_float(u); }

// One candidate implementation of reference function `fn` over arrays.
struct Candidate {
    int fn;
    ArrayFn array;
    const char* label;
    double worst = 0.0;
    float worst_x = 0.0f;
    float worst_got = 0.0f;
    int64_t count = 0;
};

// Every bit pattern i * stride (i >= 0, below 2^32; stride 1 is all of them) through every
// candidate, on `threads` threads over chunks; each candidate's worst error and where.
inline void sweep(std::vector<Candidate>& cands, uint64_t stride, int threads) {
    constexpr int chunk = 1 << 14;
    const uint64_t total = ((uint64_t(1) << 32) + stride - 1) / stride;
    std::atomic<uint64_t> next{0};
    std::vector<std::vector<Candidate>> local(size_t(threads), cands);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::vector<float> x(chunk), y(chunk);
            std::vector<double> ref(chunk), inv(chunk);
            std::vector<Candidate>& mine = local[size_t(t)];
            for (;;) {
                const uint64_t begin = next.fetch_add(chunk);
                if (begin >= total) break;
                const int n = int(std::min<uint64_t>(chunk, total - begin));
                for (int i = 0; i < n; ++i) x[size_t(i)] = bits_float(uint32_t((begin + uint64_t(i)) * stride));
                int ref_fn = -1;
                for (Candidate& c : mine) {
                    if (c.fn != ref_fn) {
                        for (int i = 0; i < n; ++i) {
                            ref[size_t(i)] = reference(c.fn, double(x[size_t(i)]));
                            inv[size_t(i)] = inverse_spacing(ref[size_t(i)], term_scale(c.fn, double(x[size_t(i)])));
                        }
                        ref_fn = c.fn;
                    }
                    c.array(x.data(), y.data(), n);
                    for (int i = 0; i < n; ++i) {
                        const float got = y[size_t(i)];
                        const double d = inv[size_t(i)] != 0.0 && std::fabs(got) <= std::numeric_limits<float>::max()
                                             ? std::fabs(double(got) - ref[size_t(i)]) * inv[size_t(i)]
                                             : ulp_error(ref[size_t(i)], got);
                        if (d > c.worst) c.worst = d, c.worst_x = x[size_t(i)], c.worst_got = y[size_t(i)];
                    }
                    c.count += n;
                }
            }
        });
    }
    for (std::thread& th : pool) th.join();
    for (size_t i = 0; i < cands.size(); ++i) {
        for (const std::vector<Candidate>& l : local) {
            if (l[i].worst > cands[i].worst)
                cands[i].worst = l[i].worst, cands[i].worst_x = l[i].worst_x, cands[i].worst_got = l[i].worst_got;
            cands[i].count += l[i].count;
        }
    }
}

// Candidates sorted by reference function: consecutive ones share the reference values.
inline void print_candidate(const Candidate& c) {
    std::printf("%-16s %-22s max %10.3f ulp  at x = %.9g (0x%08x): got %.9g, want %.9g\n", fn_name(c.fn), c.label,
                c.worst, double(c.worst_x), unsigned(dk::cpu::vm_float_to_bits(c.worst_x)), double(c.worst_got),
                reference(c.fn, double(c.worst_x)));
}

}  // namespace vm_sweep
