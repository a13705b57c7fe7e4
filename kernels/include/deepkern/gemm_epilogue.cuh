// gemm_epilogue.cuh - what a matrix product does to each output before storing it, shared by
// kernels/gemm.cu and the cpu backend: out = act(acc + bias[n]) + residual[m, n].
#pragma once

#include "deepkern/activations.cuh"

namespace dk {

// Any activation of activations.cuh chosen at run time: one switch per output element, which the
// product's K multiply-adds per element dwarf, instead of 18 instantiations of every GEMM kernel.
DK_HD float activate(const ActParams& p, float x) {
    switch (p.kind) {
        case DK_ACT_THRESHOLD: return Threshold{p.alpha, p.beta}(x);
        case DK_ACT_STEP: return Step{p.alpha}(x);
        case DK_ACT_RELU: return Relu{}(x);
        case DK_ACT_LEAKY_RELU: return LeakyRelu{p.alpha}(x);
        case DK_ACT_ELU: return ExpLinear{1.0f, p.alpha, 1.0f}(x);
        case DK_ACT_SELU: return ExpLinear{1.0507009873554805f, 1.6732632423543772f, 1.0f}(x);
        case DK_ACT_CELU: return ExpLinear{1.0f, p.alpha, 1.0f / p.alpha}(x);
        case DK_ACT_SIGMOID: return Sigmoid{}(x);
        case DK_ACT_TANH: return Tanh{}(x);
        case DK_ACT_HARDTANH: return Hardtanh{p.alpha, p.beta}(x);
        case DK_ACT_HARDSIGMOID: return Hardsigmoid{}(x);
        case DK_ACT_HARDSWISH: return Hardswish{}(x);
        case DK_ACT_SOFTPLUS: return Softplus{p.alpha, 1.0f / p.alpha, p.beta}(x);
        case DK_ACT_SILU: return Silu{}(x);
        case DK_ACT_MISH: return Mish{}(x);
        case DK_ACT_GELU: return GeluErf{}(x);
        case DK_ACT_GELU_TANH: return GeluTanh{}(x);
        case DK_ACT_QUICK_GELU: return QuickGelu{}(x);
        default: return x;  // 0: no activation
    }
}

// The batch offsets of operand a and b for batch index z of the output's batch dims.
DK_HD void gemm_batch_offsets(const GemmArgs& p, int64_t z, int64_t& a_off, int64_t& b_off) {
    a_off = 0;
    b_off = 0;
    for (int d = p.batch_dims - 1; d >= 0; --d) {
        const int64_t i = z % p.batch_shape[d];
        z /= p.batch_shape[d];
        a_off += i * p.a_stride[d];
        b_off += i * p.b_stride[d];
    }
}

template <typename T>
DK_HD void gemm_store(const GemmArgs& p, int64_t z, int64_t m, int64_t n, float v) {
    if (p.bias) v += load_float(static_cast<const T*>(p.bias)[n]);
    if (p.act.kind) v = activate(p.act, v);
    const int64_t o = (z * p.m + m) * p.n + n;
    if (p.residual) v += load_float(static_cast<const T*>(p.residual)[o]);
    store_float(static_cast<T*>(p.out)[o], v);
}

}  // namespace dk
