// gemm.h - the gemm family's backend contract: batched matrix products with an epilogue.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// A batched product with its epilogue: out[z] = act(op(a[z]) @ op(b[z]) + bias) + residual[z], op(a)
// [m, k] stored as [m, k] or (trans_a) [k, m], op(b) [k, n] stored as [k, n] or (trans_b) [n, k].
// out and residual are compact [batch, m, n]; a and b start batch z at the sum over the batch dims
// of index * stride (stride 0 where the operand broadcasts). act.kind 0 means no activation.
constexpr int kMaxGemmBatchDims = 14;

struct GemmArgs {
    const void* a;
    const void* b;
    const void* bias;      // [n] or nullptr
    const void* residual;  // like out, or nullptr
    void* out;
    int64_t m, n, k, batch;
    int32_t batch_dims;
    int64_t batch_shape[kMaxGemmBatchDims];
    int64_t a_stride[kMaxGemmBatchDims];
    int64_t b_stride[kMaxGemmBatchDims];
    ActParams act;
    bool trans_a, trans_b;
    bool tf32;  // f32 operands may be rounded to tf32 for the tensor cores (cuda / emu; dk_set_allow_tf32)
    // cuda / emu: gemm_workspace's bytes, the f32 partial products of a K split (null: no split)
    float* partials;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void gemm(const Exec&, DType, const GemmArgs&);
    // the scratch bytes gemm wants in GemmArgs::partials (0: none)
    void gemm_workspace(const Exec&, DType, const GemmArgs&, int64_t* bytes);
)
