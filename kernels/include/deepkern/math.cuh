// math.cuh - the f32 elementary functions kernels and host loops share (DK_HD): on the device
// (__CUDA_ARCH__) CUDA's own expf, tanhf, ... and GELU's f64-split forms (f64 is cheap enough on
// the GPUs this targets and the kernels are bandwidth-bound); on the host (cpu backend, emulated
// kernels) the branch-free f32 functions of vec_math.h, which GCC vectorizes, all within a few
// ulp over every f32 input (vec_math.h's header has the measured bounds).
//
// fselect(c, a, b) is c ? a : b; on the host a bit select, so that a functor whose ternary guards
// a possibly-trapping expression (expm1f(x) for x > 0 ...) still if-converts and vectorizes.
//
// At -inf the products x f(x) whose factor underflows to 0 (gelu, gelu_tanh, silu) are NaN on
// both paths, as in torch.
#pragma once

#include <cmath>
#include "deepkern/numeric.cuh"
#if !defined(__CUDA_ARCH__)
#include "deepkern/vec_math.h"
#endif

namespace dk {

#if defined(__CUDA_ARCH__)

DK_HD float fselect(bool c, float a, float b) { return c ? a : b; }
DK_HD float fexp(float x) { return expf(x); }
DK_HD float fexpm1(float x) { return expm1f(x); }
DK_HD float flog1p(float x) { return log1pf(x); }
DK_HD float ftanh(float x) { return tanhf(x); }
DK_HD float ferf(float x) { return erff(x); }
DK_HD float ferfc(float x) { return erfcf(x); }
DK_HD float fsigmoid(float x) { return rcp(1.0f + expf(-x)); }
DK_HD float fsilu(float x) { return x * fsigmoid(x); }

// Phi(x) = 0.5 erfc(z), z = -x / sqrt 2 formed in f64 and carried as f32 hi + lo: in the lower tail
// the relative error is 2z^2 times z's, so an f32-rounded z alone costs ~1e-5 at x = -8.
DK_HD float normal_cdf(float x) {
    double z = -0.70710678118654752 * double(x);
    z = z < -10.5 ? -10.5 : (z > 10.5 ? 10.5 : z);  // erfc(10.5) < 1e-49
    const float z_hi = float(z);
    const float z_lo = float(z - double(z_hi));
    // erfc(z_hi + z_lo) = erfc(z_hi) - z_lo * 2/sqrt(pi) * exp(-z_hi^2) + O(z_lo^2)
    return 0.5f * (erfcf(z_hi) - z_lo * 1.1283791670955126f * expf(-z_hi * z_hi));
}
DK_HD float gelu(float x) { return x * normal_cdf(x); }
DK_HD float gelu_grad(float x) { return normal_cdf(x) + x * 0.3989422804014327f * expf(-0.5f * x * x); }  // Phi + x phi

// gelu_tanh(x) = x sigmoid(2u), 2u = sqrt(8/pi) (x + 0.044715 x^3) in f64, clamped where the
// sigmoid has saturated in f32, and split into hi + lo: exp(-(hi + lo)) = exp(-hi) (1 - lo).
DK_HD float gelu_tanh_sigmoid(float x) {
    const double xd = double(x);
    double v = 1.5957691216057308 * (xd + 0.044715 * xd * xd * xd);
    v = v < -200.0 ? -200.0 : (v > 200.0 ? 200.0 : v);
    const float v_hi = float(v);
    const float v_lo = float(v - double(v_hi));
    return rcp(1.0f + expf(-v_hi) * (1.0f - v_lo));
}
DK_HD float gelu_tanh(float x) { return x * gelu_tanh_sigmoid(x); }
DK_HD float gelu_tanh_grad(float x) {
    // d/dx x s(v) = s + x s (1 - s) dv/dx,  dv/dx = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    const float s = gelu_tanh_sigmoid(x);
    // s (1 - s) is exactly 0 once |x| > 100; clamping x there keeps 0 * inf from making NaN
    const float xc = x < -100.0f ? -100.0f : (x > 100.0f ? 100.0f : x);
    const float dv = 1.5957691216057308f * (1.0f + 0.134145f * xc * xc);
    return s + xc * s * (1.0f - s) * dv;
}

#else

DK_HD float fselect(bool c, float a, float b) { return cpu::select_f32(c, a, b); }
DK_HD float fexp(float x) { return cpu::exp_f32(x); }
DK_HD float fexpm1(float x) { return cpu::expm1_f32(x); }
DK_HD float flog1p(float x) { return cpu::log1p_f32(x); }
DK_HD float ftanh(float x) { return cpu::tanh_f32(x); }
DK_HD float ferf(float x) { return cpu::erf_f32(x); }
DK_HD float ferfc(float x) { return cpu::erfc_f32(x); }
DK_HD float fsigmoid(float x) { return cpu::sigmoid_f32(x); }
DK_HD float fsilu(float x) { return cpu::silu_f32(x); }
DK_HD float normal_cdf(float x) { return cpu::normal_cdf_f32(x); }
DK_HD float gelu(float x) { return cpu::gelu_f32(x); }
DK_HD float gelu_grad(float x) { return cpu::gelu_grad_f32(x); }
DK_HD float gelu_tanh(float x) { return cpu::gelu_tanh_f32(x); }
DK_HD float gelu_tanh_grad(float x) { return cpu::gelu_tanh_grad_f32(x); }

#endif

}  // namespace dk
