// diffusion.h - the diffusion family's backend contract: one fused sampler step, and the exact
// Gaussian-mixture denoiser the samplers are checked against.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// One sampler step (deepkern.h dk_diffusion_step): tensors of n elements, optional ones null.
struct StepArgs {
    dk_step_coefs c;
    const void* x;
    const void* model;
    const void* uncond;
    const void* extra1;
    const void* extra2;
    void* out;
    void* out2;
    int64_t n;
};

// The Gaussian-mixture denoiser (dk_gmm_posterior_mean), f32: x, out [rows, dims], means
// [components, dims], log_weights [components].
struct GmmArgs {
    const float* x;
    const float* means;
    const float* log_weights;
    float* out;
    int64_t rows, dims, components;
    float data_std, a, b;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void diffusion_step(const Exec&, DType, const StepArgs&);
    void gmm_posterior_mean(const Exec&, const GmmArgs&);
)
