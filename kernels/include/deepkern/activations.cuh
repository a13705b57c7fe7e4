// activations.cuh - element-wise activation math, written once for every backend.
//
// Each activation is a functor with `float operator()(float) const`, callable from CUDA
// kernels, emulated kernels and the cpu backend alike, so the formulas cannot drift apart.
// Forms are chosen for relative accuracy in the tails, not only near zero:
//   gelu(x)      = x Phi(x) = 0.5 x erfc(-x / sqrt 2)          (1 + erf cancels for x << 0)
//   gelu_tanh(x) = 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)),   u = sqrt(2/pi) (x + 0.044715 x^3)
// In both tails the result's relative error is the argument's absolute error times |arg|
// (d ln erfc(z)/dz ~ -2z, d ln sigmoid(v)/dv ~ 1), so an f32 argument alone costs ~1e-5 at
// x = -8. The argument is therefore formed in f64 and split into f32 hi + lo parts, and the lo
// part enters through the first-order term. The extra arithmetic is free where it matters:
// the kernels are bandwidth-bound. Arguments are clamped where the result has saturated
// (erfc to 0 or 2, the exponential past f32 range), which keeps +-inf inputs from making inf-inf.
#pragma once

#include <cmath>
#include "deepkern/numeric.cuh"

namespace dk {

struct GeluErf {
    DK_HD float operator()(float x) const {
        double z = -0.70710678118654752 * double(x);
        z = z < -10.5 ? -10.5 : (z > 10.5 ? 10.5 : z);  // erfc(10.5) < 1e-49
        const float z_hi = float(z);
        const float z_lo = float(z - double(z_hi));
        // erfc(z_hi + z_lo) = erfc(z_hi) - z_lo * 2/sqrt(pi) * exp(-z_hi^2) + O(z_lo^2)
        const float erfc_z = erfcf(z_hi) - z_lo * 1.1283791670955126f * expf(-z_hi * z_hi);
        return 0.5f * x * erfc_z;
    }
};

struct GeluTanh {
    DK_HD float operator()(float x) const {
        const double xd = double(x);
        double v = 1.5957691216057308 * (xd + 0.044715 * xd * xd * xd);  // 2u
        v = v < -200.0 ? -200.0 : (v > 200.0 ? 200.0 : v);  // exp(+-200) is past f32 range
        const float v_hi = float(v);
        const float v_lo = float(v - double(v_hi));
        // exp(-(v_hi + v_lo)) = exp(-v_hi) (1 - v_lo) + O(v_lo^2)
        return x / (1.0f + expf(-v_hi) * (1.0f - v_lo));
    }
};

}  // namespace dk
