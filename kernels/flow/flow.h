// flow.h - the flow family's backend contract: the affine coupling of RealNVP / Glow, fused, one
// pass per direction with the per-sample log-determinant reduced in the same pass.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// dk_flow_coupling_forward / _inverse: rows samples, each with m transformed elements in (x or y)
// and 2m conditioner outputs in h = [shift (m) | raw scale (m)]; out has in's shape; logdet is f32
// [rows] or null. forward: out = (in + shift) * s; inverse: out = in / s - shift; s = sigmoid(raw + 2).
// logdet[r] = (accumulate ? logdet[r] : 0) + (inverse ? -1 : 1) * sum_j log s[r, j].
struct CouplingArgs {
    const void* in;
    const void* h;
    void* out;
    float* logdet;
    int64_t rows, m;
    int32_t accumulate, inverse;
};

// dk_flow_coupling_backward: the gradients of the forward (from its input x) given grad_y [rows, m]
// and grad_logdet f32 [rows] (null: zero): grad_x [rows, m], grad_h [rows, 2m] = [d shift | d raw].
struct CouplingBackwardArgs {
    const void* x;
    const void* h;
    const void* grad_y;
    const float* grad_logdet;
    void* grad_x;
    void* grad_h;
    int64_t rows, m;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void flow_coupling(const Exec&, DType, const CouplingArgs&);
    void flow_coupling_backward(const Exec&, DType, const CouplingBackwardArgs&);
)
