// gemm_epilogue.cuh - what a matrix product does to each output before storing it, shared by
// kernels/gemm/gemm.cu and the cpu backend: out = act(acc + bias[n]) + residual[m, n].
#pragma once

#include "activation/activations.cuh"
#include "deepkern/packs.cuh"
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

// Columns n .. n + V - 1 of row m of batch z: out = act(v + bias) + residual. V > 1 reads and
// writes 16-byte packs (packs.cuh: V a whole pack, n a multiple of V, every row of out and
// residual and the bias 16-byte aligned), as the tensor-core kernel does where the rows allow.
template <typename T, int V>
DK_HD void gemm_store(const GemmArgs& p, int64_t z, int64_t m, int64_t n, Floats<V> v) {
    if (p.bias) {
        const Floats<V> b = load<V>(static_cast<const T*>(p.bias) + n);
        each<V>([&](int k) { v.v[k] += b.v[k]; });
    }
    if (p.act.kind) each<V>([&](int k) { v.v[k] = activate(p.act, v.v[k]); });
    const int64_t o = (z * p.m + m) * p.n + n;
    if (p.residual) {
        const Floats<V> r = load<V>(static_cast<const T*>(p.residual) + o);
        each<V>([&](int k) { v.v[k] += r.v[k]; });
    }
    store<V>(static_cast<T*>(p.out) + o, v);
}

template <typename T>
DK_HD void gemm_store(const GemmArgs& p, int64_t z, int64_t m, int64_t n, float v) {
    gemm_store<T, 1>(p, z, m, n, Floats<1>{{v}});
}

}  // namespace dk
