// diffusion.cu - sampler steps as one fused pass, and the Gaussian-mixture denoiser that checks them.
//
// The step reads x and the model output (and, when used, the unconditional output for guidance
// and up to two extra tensors a multistep or second-order sampler carries), writes the next x
// (and optionally x0 or a derivative for the next step), and draws its noise in registers from
// Philox: memory traffic is exactly the tensors named, ~25 FLOP per element, bandwidth-bound.
// It walks the tensor flat in 16-byte packs (deepkern/walk.cuh).
// The mixture denoiser gives each thread one row (a point in D <= 64 dims) and loops over the
// components; it serves tests and the exact-target demos, not production sampling.
#include "deepkern/portable.cuh"
#include "diffusion/diffusion_bodies.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/walk.cuh"
#include "diffusion/diffusion.h"

namespace dk {
namespace DK_BACKEND {

void diffusion_step(const Exec& ex, DType dtype, const StepArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto body = DiffusionStep<T>::of(a);
        walk<T>(ex, "diffusion_step", body, 1, a.n, {a.x, a.model, a.uncond, a.extra1, a.extra2, a.out, a.out2});
    });
}

__global__ void gmm_posterior_mean_kernel(GmmArgs p) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < p.rows; r += stride) gmm_row(p, r);
}

void gmm_posterior_mean(const Exec& ex, const GmmArgs& a) {
    if (a.rows == 0) return;
    launch(ex, "gmm_posterior_mean", gmm_posterior_mean_kernel, dim3(grid_for(ex, a.rows, 128)), dim3(128), 0, a);
}

}  // namespace DK_BACKEND
}  // namespace dk
