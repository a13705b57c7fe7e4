// column_sum.cuh - the second pass of the column reductions without atomics (bias and norm
// parameter gradients): out[c] = sum over p of partials[p][c], one thread per column, so the
// reads of a warp are consecutive. Include after portable.cuh.
#pragma once

namespace dk {
namespace DK_BACKEND {

template <typename T>
__global__ void column_sum_kernel(const float* __restrict__ partials, int64_t parts, int64_t cols,
                                  T* __restrict__ out) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < cols; c += stride) {
        float s = 0.0f;
        for (int64_t p = 0; p < parts; ++p) s += partials[p * cols + c];
        store_float(out[c], s);
    }
}

}  // namespace DK_BACKEND
}  // namespace dk
