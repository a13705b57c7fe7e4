// activations.cuh - element-wise activation math, written once for every backend.
//
// Each activation is a functor with `float operator()(float x)` (the value) and
// `float grad(float x)` (d value / dx), callable from CUDA kernels, emulated kernels and the cpu
// backend alike, so the formulas cannot drift apart. Parameters live in the functor; anything
// that would be a per-element division (1/alpha, 1/beta) is inverted once on the host.
// Definitions and gradient conventions (the value at a kink) follow torch.nn.functional.
//
// The transcendental functions come from deepkern/math.cuh: CUDA's on the device, vec_math.h's
// branch-free f32 ones on the host, whose bounds (ulp over every f32 input) vec_math.h states;
// gelu and gelu_tanh there are relative-accurate in the tails, where the result underflows.
// Where a ternary would guard an expression that may trap (an exp, a product), the functors use
// fselect, so that a host loop over them if-converts and vectorizes: both arms are computed.
#pragma once

#include <cmath>
#include "deepkern.h"
#include "deepkern/error.h"
#include "deepkern/numeric.cuh"
#include "deepkern/math.cuh"
#include "deepkern/backend.h"

namespace dk {

DK_HD float sigmoidf(float x) { return fsigmoid(x); }

// softplus with PyTorch's linear cut-over, shared by Softplus and Mish.
DK_HD float softplusf(float bx) { return fselect(bx > 20.0f, bx, flog1p(fexp(bx))); }

struct Threshold {  // torch threshold: x if x > threshold else value
    float threshold, value;
    DK_HD float operator()(float x) const { return x > threshold ? x : value; }
    DK_HD float grad(float x) const { return x > threshold ? 1.0f : 0.0f; }
};

struct Step {  // the perceptron's unit: 1 if x > theta else 0
    float theta;
    DK_HD float operator()(float x) const { return x > theta ? 1.0f : 0.0f; }
    DK_HD float grad(float) const { return 0.0f; }
};

struct Relu {
    DK_HD float operator()(float x) const { return x > 0.0f ? x : 0.0f; }
    DK_HD float grad(float x) const { return x > 0.0f ? 1.0f : 0.0f; }
};

struct LeakyRelu {
    float slope;
    DK_HD float operator()(float x) const { return fselect(x > 0.0f, x, slope * x); }
    DK_HD float grad(float x) const { return x > 0.0f ? 1.0f : slope; }
};

// elu, selu and celu share one shape: scale * (x > 0 ? x : alpha (exp(x / width) - 1)).
struct ExpLinear {
    float scale, alpha, inv_width;
    DK_HD float operator()(float x) const {
        return scale * fselect(x > 0.0f, x, alpha * fexpm1(x * inv_width));
    }
    DK_HD float grad(float x) const {
        return scale * fselect(x > 0.0f, 1.0f, alpha * inv_width * fexp(x * inv_width));
    }
};

struct Sigmoid {
    DK_HD float operator()(float x) const { return sigmoidf(x); }
    DK_HD float grad(float x) const {
        const float s = sigmoidf(x);
        return s * (1.0f - s);
    }
};

struct Tanh {
    DK_HD float operator()(float x) const { return ftanh(x); }
    DK_HD float grad(float x) const {
        const float t = ftanh(x);
        return 1.0f - t * t;
    }
};

struct Hardtanh {
    float lo, hi;
    DK_HD float operator()(float x) const { return x < lo ? lo : (x > hi ? hi : x); }
    DK_HD float grad(float x) const { return (x > lo && x < hi) ? 1.0f : 0.0f; }
};

struct Hardsigmoid {
    DK_HD float operator()(float x) const {
        // (x + 3) / 6, not x / 6 + 0.5: the sum is exact near -3, where the other form cancels
        return fselect(x <= -3.0f, 0.0f, fselect(x >= 3.0f, 1.0f, (x + 3.0f) * (1.0f / 6.0f)));
    }
    DK_HD float grad(float x) const { return (x > -3.0f && x < 3.0f) ? 1.0f / 6.0f : 0.0f; }
};

struct Hardswish {
    DK_HD float operator()(float x) const {
        return fselect(x <= -3.0f, 0.0f, fselect(x >= 3.0f, x, x * (x + 3.0f) * (1.0f / 6.0f)));
    }
    DK_HD float grad(float x) const {
        // at x = -3 and 3 the flat side's slope, as torch (2.10) takes it
        return fselect(x <= -3.0f, 0.0f, fselect(x < 3.0f, x * (1.0f / 3.0f) + 0.5f, 1.0f));
    }
};

struct Softplus {  // log(1 + exp(beta x)) / beta, linear where beta x > threshold
    float beta, inv_beta, threshold;
    DK_HD float operator()(float x) const {
        const float bx = beta * x;
        return fselect(bx > threshold, x, flog1p(fexp(bx)) * inv_beta);
    }
    DK_HD float grad(float x) const {
        const float bx = beta * x;
        return fselect(bx > threshold, 1.0f, sigmoidf(bx));
    }
};

struct Silu {
    DK_HD float operator()(float x) const { return fsilu(x); }
    DK_HD float grad(float x) const {
        const float s = sigmoidf(x);
        return s * (1.0f + x * (1.0f - s));
    }
};

struct Mish {  // x tanh(softplus(x))
    DK_HD float operator()(float x) const { return x * ftanh(softplusf(x)); }
    DK_HD float grad(float x) const {
        const float t = ftanh(softplusf(x));
        return t + x * sigmoidf(x) * (1.0f - t * t);
    }
};

struct GeluErf {  // x Phi(x)
    DK_HD float operator()(float x) const { return gelu(x); }
    DK_HD float grad(float x) const { return gelu_grad(x); }
};

struct GeluTanh {  // x sigmoid(2u), 2u = sqrt(8/pi) (x + 0.044715 x^3)
    DK_HD float operator()(float x) const { return gelu_tanh(x); }
    DK_HD float grad(float x) const { return gelu_tanh_grad(x); }
};

struct QuickGelu {  // x sigmoid(1.702 x)
    DK_HD float operator()(float x) const { return x * sigmoidf(1.702f * x); }
    DK_HD float grad(float x) const {
        const float s = sigmoidf(1.702f * x);
        // s (1 - s) is exactly 0 once |x| > 100; clamping x there keeps inf * 0 from making NaN
        const float xc = fselect(x < -100.0f, -100.0f, fselect(x > 100.0f, 100.0f, x));
        return s + 1.702f * xc * s * (1.0f - s);
    }
};

// The functor of each kind of deepkern.h's DK_ACTIVATIONS list, with its parameters: a kind
// without one here fails to compile in the switches below, which the list writes.
template <int Kind> struct ActFunctor;
template <> struct ActFunctor<DK_ACT_THRESHOLD> {
    DK_HD static Threshold of(const ActParams& p) { return {p.alpha, p.beta}; }
};
template <> struct ActFunctor<DK_ACT_STEP> {
    DK_HD static Step of(const ActParams& p) { return {p.alpha}; }
};
template <> struct ActFunctor<DK_ACT_RELU> {
    DK_HD static Relu of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_LEAKY_RELU> {
    DK_HD static LeakyRelu of(const ActParams& p) { return {p.alpha}; }
};
template <> struct ActFunctor<DK_ACT_ELU> {
    DK_HD static ExpLinear of(const ActParams& p) { return {1.0f, p.alpha, 1.0f}; }
};
template <> struct ActFunctor<DK_ACT_SELU> {
    DK_HD static ExpLinear of(const ActParams&) { return {1.0507009873554805f, 1.6732632423543772f, 1.0f}; }
};
template <> struct ActFunctor<DK_ACT_CELU> {
    DK_HD static ExpLinear of(const ActParams& p) { return {1.0f, p.alpha, 1.0f / p.alpha}; }
};
template <> struct ActFunctor<DK_ACT_SIGMOID> {
    DK_HD static Sigmoid of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_TANH> {
    DK_HD static Tanh of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_HARDTANH> {
    DK_HD static Hardtanh of(const ActParams& p) { return {p.alpha, p.beta}; }
};
template <> struct ActFunctor<DK_ACT_HARDSIGMOID> {
    DK_HD static Hardsigmoid of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_HARDSWISH> {
    DK_HD static Hardswish of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_SOFTPLUS> {
    DK_HD static Softplus of(const ActParams& p) { return {p.alpha, 1.0f / p.alpha, p.beta}; }
};
template <> struct ActFunctor<DK_ACT_SILU> {
    DK_HD static Silu of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_MISH> {
    DK_HD static Mish of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_GELU> {
    DK_HD static GeluErf of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_GELU_TANH> {
    DK_HD static GeluTanh of(const ActParams&) { return {}; }
};
template <> struct ActFunctor<DK_ACT_QUICK_GELU> {
    DK_HD static QuickGelu of(const ActParams&) { return {}; }
};

// Any of them chosen at run time, for the epilogues of the GEMM and conv kernels: one switch per
// output element, which the K multiply-adds behind each element dwarf, instead of instantiating
// every kernel once per activation. Kind 0 is no activation.
DK_HD float activate(const ActParams& p, float x) {
    switch (p.kind) {
#define DK_ACT_VALUE(NAME, code, name, gate) \
    case DK_ACT_##NAME: return ActFunctor<DK_ACT_##NAME>::of(p)(x);
        DK_ACTIVATIONS(DK_ACT_VALUE)
#undef DK_ACT_VALUE
        default: return x;
    }
}

// Host side: an activation named at run time becomes its functor type for f(functor).
template <class F>
void dispatch_activation(const ActParams& p, F&& f) {
    switch (p.kind) {
#define DK_ACT_DISPATCH(NAME, code, name, gate) \
    case DK_ACT_##NAME: f(ActFunctor<DK_ACT_##NAME>::of(p)); return;
        DK_ACTIVATIONS(DK_ACT_DISPATCH)
#undef DK_ACT_DISPATCH
        default: throw Error(DK_ERROR_INTERNAL, "dispatch_activation: unknown kind");
    }
}

// The gates of the gated linear units (the list's gate column): the gated kernels instantiate
// once per gate, five times rather than eighteen.
inline bool is_gate_activation(int32_t kind) {
    switch (kind) {
#define DK_ACT_GATE(NAME, code, name, gate) \
    case DK_ACT_##NAME: return gate;
        DK_ACTIVATIONS(DK_ACT_GATE)
#undef DK_ACT_GATE
        default: return false;
    }
}

template <class F>
void dispatch_gate_activation(const ActParams& p, F&& f) {
    switch (p.kind) {
#define DK_ACT_GATE_DISPATCH(NAME, code, name, gate)           \
    case DK_ACT_##NAME:                                        \
        if constexpr (gate) {                                  \
            f(ActFunctor<DK_ACT_##NAME>::of(p));               \
            return;                                            \
        }                                                      \
        break;
        DK_ACTIVATIONS(DK_ACT_GATE_DISPATCH)
#undef DK_ACT_GATE_DISPATCH
        default: break;
    }
    throw Error(DK_ERROR_INTERNAL, "dispatch_gate_activation: not a gate");
}

// Each kind's name in the list ("leaky_relu"), "?" for a code not in it.
inline const char* activation_name(int32_t kind) {
    switch (kind) {
#define DK_ACT_NAME(NAME, code, name, gate) \
    case DK_ACT_##NAME: return name;
        DK_ACTIVATIONS(DK_ACT_NAME)
#undef DK_ACT_NAME
        default: return "?";
    }
}

}  // namespace dk
