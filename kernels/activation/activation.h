// activation.h - the activation family's backend contract: element-wise activations with an
// optional fused bias, and the gated linear units.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// An activation over x viewed as [rows, cols] (cols = the last dim), with an optional bias[cols].
// Forward reads x (+ bias) and writes out. Backward reads x (+ bias) and grad_out and writes
// grad_in; with grad_bias it also sums grad_in over rows in two passes without atomics: f32
// column sums per block of rows into workspace[bias_partial_rows][cols], then those into grad_bias.
struct ActArgs {
    const void* x;
    const void* bias;      // nullptr: no bias
    const void* grad_out;  // backward only
    void* out;             // forward: out; backward: grad_in
    void* grad_bias;       // backward only, nullptr: not wanted
    float* workspace;      // bias_partial_rows(rows) * cols floats when grad_bias is wanted
    int64_t rows, cols;
};


// out = up * act(gate) over [rows, cols]. gate and up (and their grads) have rows row_stride
// elements apart; out and grad_out are compact. Split form: row_stride = 2 cols, gate = up + cols.
struct GatedArgs {
    const void* gate;
    const void* up;
    const void* grad_out;  // backward only
    void* out;             // forward only
    void* grad_gate;       // backward only
    void* grad_up;         // backward only
    int64_t rows, cols, row_stride;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void activation_forward(const Exec&, DType, const ActParams&, const ActArgs&);
    void activation_backward(const Exec&, DType, const ActParams&, const ActArgs&);
    void gated_forward(const Exec&, DType, const ActParams&, const GatedArgs&);
    void gated_backward(const Exec&, DType, const ActParams&, const GatedArgs&);
)
