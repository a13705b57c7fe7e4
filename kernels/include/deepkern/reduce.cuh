// reduce.cuh - sums across a warp and across a block, for kernels where a row or a channel is
// reduced by many threads at once. Include after portable.cuh.
#pragma once

namespace dk {
namespace DK_BACKEND {

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// The sum of v over the block (blockDim.x a multiple of 32, at most 1024), returned to every
// thread; scratch is 32 floats of shared memory, free again when it returns.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

}  // namespace DK_BACKEND
}  // namespace dk
