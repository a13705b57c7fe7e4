// cpu/diffusion.cpp - the sampler step and the mixture denoiser on the cpu backend, with the
// kernels' own bodies (diffusion/diffusion_bodies.cuh) over chunks on the thread pool. A step's
// noise is drawn first by randn's vectorized loop (the same stream, tensor.cpp) into a buffer kept
// between calls, rather than per element through libm inside the body: a read and write of n
// floats more, against scalar log, sin and cos per element.
#include <algorithm>
#include <vector>

#include "diffusion/diffusion_bodies.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"
#include "diffusion/diffusion.h"
#include "tensor/tensor.h"

namespace dk::cpu {

void diffusion_step(const Exec& ex, DType dtype, const StepArgs& a) {
    thread_local std::vector<float> noise;
    if (a.c.noise != 0.0f) {
        noise.resize(std::max(noise.size(), size_t(a.n)));
        randn(ex, DType::f32, noise.data(), a.n, a.c.seed, a.c.offset);
    }
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        auto body = DiffusionStep<T>::of(a);
        if (a.c.noise != 0.0f) body.noise = noise.data();
        // Chunks of whole Philox blocks, four elements at a time so each block's four normals come
        // from one draw; four f32 are a 16-byte pack, so that needs aligned tensors.
        const bool fours = aligned16({a.x, a.model, a.uncond, a.extra1, a.extra2, a.out, a.out2});
        parallel_range((a.n + 3) / 4, 1 << 12, [&](int64_t b, int64_t e) {
            const int64_t end = 4 * e < a.n ? 4 * e : a.n;
            int64_t i = 4 * b;
            if (fours)
                for (; i + 4 <= end; i += 4) body.template apply<4>(i, 0, i);
            for (; i < end; ++i) body.template apply<1>(i, 0, i);
        });
    });
}

void gmm_posterior_mean(const Exec&, const GmmArgs& a) {
    parallel_range(a.rows, 256, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) gmm_row(a, r);
    });
}

}  // namespace dk::cpu
