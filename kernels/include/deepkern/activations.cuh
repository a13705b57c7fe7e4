// activations.cuh - element-wise activation math, written once for every backend.
//
// Each activation is a functor with `float operator()(float) const`, callable from CUDA
// kernels, emulated kernels and the cpu backend alike, so the formulas cannot drift apart.
// Forms are chosen for relative accuracy in the tails, not only near zero:
//   gelu(x)      = x * Phi(x) = 0.5 x erfc(-x / sqrt 2)        (1 + erf cancels for x << 0)
//   gelu_tanh(x) = 0.5 x (1 + tanh(u)) = x * sigmoid(2u),  u = sqrt(2/pi) (x + 0.044715 x^3)
#pragma once

#include <cmath>
#include "deepkern/numeric.cuh"

namespace dk {

struct GeluErf {
    DK_HD float operator()(float x) const {
        return 0.5f * x * erfcf(-0.70710678118654752f * x);
    }
};

struct GeluTanh {
    DK_HD float operator()(float x) const {
        const float two_u = 1.5957691216057308f * fmaf(0.044715f * x, x * x, x);  // 2u
        return x / (1.0f + expf(-two_u));
    }
};

}  // namespace dk
