// roofline.cu - the FMA-bound kernel behind dk_roofline_fma, which measures the device's
// arithmetic ceiling for the benchmark harness (16 FLOP per element and iteration, one f32
// store per element: nothing but arithmetic limits it).
#include "deepkern/portable.cuh"
#include "bench/roofline.cuh"
#include "bench/roofline.h"

namespace dk {
namespace DK_BACKEND {

__global__ void roofline_fma_kernel(float* __restrict__ out, int64_t n, int iterations) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = roofline_chains(float(i & 1023) * 1e-3f, iterations);
}

void roofline_fma(const Exec& ex, float* out, int64_t n, int iterations) {
    if (n == 0) return;
    constexpr int threads = 256;
    launch(ex, "roofline_fma", roofline_fma_kernel, dim3(grid_for(ex, n, threads)), dim3(threads), 0, out, n,
           iterations);
}

}  // namespace DK_BACKEND
}  // namespace dk
