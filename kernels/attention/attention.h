// attention.h - the attention family's backend contract: scaled dot-product attention, forward
// and backward.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// Scaled dot-product attention (deepkern.h dk_attention_*), validated: q, out, grad_out, grad_q
// [batch, heads, lq, dim]; k, v, grad_k, grad_v [batch, kv_heads, lk, dim]; lse, delta [batch, heads,
// lq] f32; key_lengths int32 / int64 [batch] or null; bias (dtype T, or f32 when bias_f32) at
// b * bias_stride[0] + h * [1] + i * [2] + j * [3] (stride 0 where it broadcasts) or null.
// causal: dk_causal_mask. Backward: delta and (cuda / emu) dq_accum [batch, heads, lq, dim] f32 are
// workspace. The forward reads q, k, v and writes out through their RowStrides (any [B, H, L, D] view
// whose head dim is contiguous, such as a fused QKV projection's [B, L, 3, H, D] output permuted);
// the backward takes every tensor compact.
struct RowStrides {
    int64_t batch, head, row;  // in elements; row b, h, i starts at b * batch + h * head + i * row
};

struct AttentionArgs {
    const void* q;
    const void* k;
    const void* v;
    const void* key_lengths;
    const void* bias;
    const void* grad_out;  // backward only
    void* out;             // forward: written; backward: read
    float* lse;            // forward: written; backward: read
    void* grad_q;
    void* grad_k;
    void* grad_v;
    float* delta;
    float* dq_accum;  // cuda / emu: f32 dQ the key-block kernels add into atomically; null: deterministic
    int64_t bias_stride[4];
    RowStrides q_rows, k_rows, v_rows, out_rows;  // forward only
    int64_t batch, heads, kv_heads, lq, lk, dim;
    float scale;
    int32_t causal;
    bool key_lengths_i64, bias_f32;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void attention_forward(const Exec&, DType, const AttentionArgs&);
    void attention_backward(const Exec&, DType, const AttentionArgs&);
)
