// norm.h - the norm family's backend contract: the row ops softmax / log_softmax, layer_norm and
// rms_norm, forward and backward.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// softmax / log_softmax over x viewed as [rows, cols]. Forward: x -> out. Backward: x is the
// forward's output y, grad_out -> out (grad_x).
struct SoftmaxArgs {
    const void* x;
    const void* grad_out;  // backward only
    void* out;
    int64_t rows, cols;
    bool log;
};

// layer_norm (rms = false) or rms_norm (rms = true) over x viewed as [rows, cols]; weight and bias
// [cols] optional (nullptr). Forward writes out. Backward reads grad_out and writes out (grad_x)
// and, when wanted, grad_weight / grad_bias as column sums in two passes without atomics: per-row
// (mean, rstd) into workspace[0, 2 rows), f32 partial column sums per block of rows into
// workspace[2 rows, ...) (norm_workspace_floats), then those summed. weight, bias and their
// gradients are f32 when params_f32 (x f16 or bf16: torch's mixed-dtype norm), else of x's dtype.
struct NormArgs {
    const void* x;
    const void* weight;
    const void* bias;      // forward only
    const void* grad_out;  // backward only
    void* out;
    void* grad_weight;
    void* grad_bias;
    float* workspace;
    int64_t rows, cols;
    float eps;
    bool rms;
    bool params_f32;
};

// Floats of workspace dk_*_norm_backward needs when grad_weight or grad_bias is wanted.
inline int64_t norm_workspace_floats(const Exec& ex, int64_t rows, int64_t cols) {
    return 2 * rows + 2 * bias_partial_rows(ex, rows) * cols;
}

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void softmax_forward(const Exec&, DType, const SoftmaxArgs&);
    void softmax_backward(const Exec&, DType, const SoftmaxArgs&);
    void norm_forward(const Exec&, DType, const NormArgs&);
    void norm_backward(const Exec&, DType, const NormArgs&);
)
