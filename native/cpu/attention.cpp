// cpu/attention.cpp - scaled dot-product attention on the cpu backend, the FlashAttention-2
// algorithm of kernels/attention/attention.cu on register-tiled f32 products.
//
// Forward: one task per (batch, head, tile of kRows = 64 query rows) on the thread pool. The task
// packs its rows of Q to f32 once (transposed, [D][rows]), keeps their f32 output accumulator O,
// running max m and running sum l, and walks the key tiles of kKeys = 64 keys up to the last key
// its last row may see (fully masked causal tiles are never visited): it packs K and V of the tile
// to f32, S^T = K Q^T, then per (key, row) S = scale S + bias (masked keys -inf), m' = max(m, max
// over the tile's keys), P = exp(S - m'), l and O scaled by exp(m - m'), O += P V. At the end O / l
// and logsumexp m + log l.
// Backward, without atomics: delta = rowsum(dO * O) first; then dK, dV per (batch, kv head, key
// tile), summing over every query tile of every query head of the GQA group (dV += P^T dO,
// dK += dS^T Q); then dQ per (batch, head, query tile), summing over key tiles (dQ += dS K). Each
// recomputes S = Q K^T and dP = dO V^T for its tile pairs, P = exp(S - logsumexp) and
// dS = scale P (dP - delta).
//
// Every product runs on attention_loops.inc's register-tiled kernel (compiled per ISA, isa.h), the
// exp on vec_math.h's branch-free exp_f32, which the row loops vectorize; the reduction order of
// every sum is fixed by the tiles, never by the threads. FLOPs: 4 Lq Lk D per head forward, 14 Lq
// Lk D backward (S and dP are computed in both of its passes). Traffic: the forward reads Q once
// and K, V once per query tile; the backward reads Q, dO once per key tile and K, V once per query
// tile. Extra memory: per-task tiles, O((kRows + kKeys) D), plus delta, O(L).
//
// The bf16 forward runs its two products on AMX tiles instead where cpu_amx_bf16() allows
// (attention_amx.inc: P rounded to bf16 for P V, as FlashAttention does on tensor cores). f16 and
// f32 stay on the f32 products: AMX's bf16 operands would round their inputs.
#pragma GCC diagnostic ignored "-Wpsabi"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "attention/attention.cuh"
#include "deepkern/dispatch.h"
#include "isa.h"
#include "thread_pool.h"
#include "deepkern/vec_math.h"
#include "attention/attention.h"

#define DK_ISA_BODY "attention_loops.inc"
#include "isa_variants.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c,amx-tile,amx-bf16,prefer-vector-width=512")
namespace dk::cpu::isa_avx512 {
#include "attention_amx.inc"
}  // namespace dk::cpu::isa_avx512
#pragma GCC pop_options

namespace dk::cpu {

namespace {

template <typename T>
void forward(const AttentionArgs& a) {
    if constexpr (std::is_same_v<T, bf16>)
        if (cpu_amx_bf16()) return isa_avx512::forward_amx(a);
    DK_ISA_CALL(forward<T>, a);
}

template <typename T>
void backward(const AttentionArgs& a) {
    DK_ISA_CALL(backward<T>, a);
}

}  // namespace

void attention_forward(const Exec&, DType dtype, const AttentionArgs& a) {
    dispatch_floating(dtype, [&](auto tag) { forward<typename decltype(tag)::type>(a); });
}

void attention_backward(const Exec&, DType dtype, const AttentionArgs& a) {
    dispatch_floating(dtype, [&](auto tag) { backward<typename decltype(tag)::type>(a); });
}

}  // namespace dk::cpu
