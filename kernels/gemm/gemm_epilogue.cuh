// gemm_epilogue.cuh - what a matrix product does to each output before storing it, shared by
// kernels/gemm/gemm.cu and the cpu backend: out = act(acc + bias[n]) + residual[m, n].
#pragma once

#include "activation/activations.cuh"
#include "gemm/gemm.h"

namespace dk {

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
