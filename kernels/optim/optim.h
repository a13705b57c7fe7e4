// optim.h - the optimizer family's backend contract: multi-tensor SGD and AdamW steps (one launch
// for every parameter of a call) and the deterministic global gradient norm of clip_grad_norm.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// Elements of one tensor a thread block of the multi-tensor kernels handles (apex's chunk size).
constexpr int64_t kOptimChunk = 65536;
constexpr int kOptimThreads = 512;
constexpr int kOptimIlp = 4;  // elements each thread has in flight per iteration (the unaligned path)

// One tensor of a multi-tensor call, as the launcher uploads it to the device table. Pointers
// are the backend's; state tensors are f32 and compact like the parameter.
struct OptimEntry {
    void* param;          // `dtype` (the gradient's tensor for the norm / scale kernels)
    const void* grad;     // `dtype`, same shape
    float* state1;        // AdamW exp_avg; SGD momentum buffer (null without momentum)
    float* state2;        // AdamW exp_avg_sq; null for SGD
    float* master;        // f32 master weights of a 16-bit param, or null (update the param itself)
    int64_t n;            // elements
    float step_size;      // AdamW lr / (1 - beta1^step); SGD unused
    float bias2_sqrt;     // AdamW sqrt(1 - beta2^step); SGD unused
    int32_t first;        // SGD: the first step of this param (its momentum buffer becomes the gradient)
    int32_t dtype;        // DType of param and grad
    int32_t packed;       // every tensor of the entry 16-byte aligned: 16-byte loads and stores
};

// One block's work: chunk `chunk` (kOptimChunk elements) of tensor `tensor`.
struct OptimChunk {
    int32_t tensor;
    int32_t chunk;
};

struct AdamWCoefs {
    float decay;            // 1 - lr * weight_decay
    float beta1, beta2;
    float one_minus_beta1, one_minus_beta2;
    float eps;
};

struct SgdCoefs {
    float lr, momentum, one_minus_dampening, weight_decay;
    int32_t nesterov;
};

enum class OptimRule : int32_t { adamw, sgd };

// A multi-tensor step (dk_adamw_step, dk_sgd_step). entries: a host array of count tensors.
struct OptimStepArgs {
    OptimRule rule;
    AdamWCoefs adamw;
    SgdCoefs sgd;
    const OptimEntry* entries;
    int32_t count;
    const float* grad_scale;  // device f32 scalar multiplying every gradient, or null
    float* workspace;         // from optim_step_workspace
};

// The global L2 norm of count gradients (entries' param = the gradient, dtype, n), and the clip
// scale min(max_norm / (norm + 1e-6), 1); with clip, every gradient multiplied by it in place.
struct GradNormArgs {
    const OptimEntry* entries;
    int32_t count;
    float max_norm;
    float* total_norm;  // device f32 scalar
    float* clip_scale;  // device f32 scalar, or null
    bool clip;          // scale the gradients in place
    float* workspace;   // from grad_norm_workspace
};

// The chunk list of count entries: kOptimChunk elements per block, tensors in order.
inline int64_t optim_chunk_count(const OptimEntry* entries, int32_t count) {
    int64_t chunks = 0;
    for (int32_t t = 0; t < count; ++t) chunks += (entries[t].n + kOptimChunk - 1) / kOptimChunk;
    return chunks;
}

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void optim_step_workspace(const Exec&, DType, const OptimStepArgs&, int64_t* bytes);
    void optim_step(const Exec&, DType, const OptimStepArgs&);
    void grad_norm_workspace(const Exec&, DType, const GradNormArgs&, int64_t* bytes);
    void grad_norm(const Exec&, DType, const GradNormArgs&);
)
