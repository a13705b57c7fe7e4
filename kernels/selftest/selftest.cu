// selftest.cu - small kernels that test the kernel runtime itself (dk_selftest), on cuda and emu.
//
// Each test, with its inputs and output (1-D tensors unless stated; n = elements of a):
//   block_reduce          a f32 [n]            -> out f32 [ceil(n/256)]: out[j] = sum a[256j .. 256j+255]
//                         (static shared memory, tree reduction with __syncthreads)
//   warp_reduce           a f32 [n]            -> out f32 [ceil(n/32)]: out[j] = sum a[32j .. 32j+31]
//                         (__shfl_xor_sync, first within 8-lane segments with width 8)
//   block_scan            a f32 [n]            -> out f32 [n]: inclusive prefix sum restarting every
//                         256 elements (__shfl_up_sync per warp, warp totals through shared memory)
//   shared_histogram      a i32 [n]            -> out i32 [bins], 1 <= bins <= 12288: out[v] = how many
//                         a[i] == v; values outside [0, bins) are not counted (shared atomics in
//                         dynamic shared memory, then global atomics)
//   mma_gemm              a [64,64] f16|bf16, b [64,64] same dtype -> out f32 [64,64] = a @ b
//                         (ldmatrix.x4 for A, ldmatrix.x4.trans for B, mma m16n8k16, f32 accumulate)
//   cp_async_pipeline     a f32 [n]            -> out f32 [n] = 2 a + 1, staged through a double
//                         buffer in dynamic shared memory with cp.async (16-byte .cg when aligned,
//                         4-byte .ca otherwise) and wait_group<1>
// Planted bugs, which the emulator must expose (a f32 [n] -> out f32 [n]; outputs undefined on cuda):
//   bug_missing_barrier   out[i] = a[i + 1] within blocks of 256 (wrapping), read from shared memory
//                         without a barrier after the writes: results change with the schedule order
//   bug_divergent_barrier __syncthreads inside a branch only even threads take: DK_ERROR_KERNEL
//   bug_bad_shuffle_mask  lanes 0-15 shuffle with mask 0xffffffff while lanes 16-31 exit: DK_ERROR_KERNEL
#include "deepkern/portable.cuh"
#include "deepkern/async_copy.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/mma.cuh"
#include "selftest/selftest.h"
#include "tensor/tensor.h"

namespace dk {
namespace DK_BACKEND {

constexpr int kBlock = 256;
constexpr unsigned kFullMask = 0xffffffffu;

__global__ void block_reduce_kernel(const float* __restrict__ a, float* __restrict__ out, int64_t n) {
    DK_SHARED(float, s, [kBlock]);
    const int64_t i = int64_t(blockIdx.x) * kBlock + threadIdx.x;
    s[threadIdx.x] = i < n ? a[i] : 0.0f;
    __syncthreads();
    for (int w = kBlock / 2; w > 0; w >>= 1) {
        if (int(threadIdx.x) < w) s[threadIdx.x] += s[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

__global__ void warp_reduce_kernel(const float* __restrict__ a, float* __restrict__ out, int64_t n, int64_t warps) {
    const int64_t i = int64_t(blockIdx.x) * kBlock + threadIdx.x;
    float v = i < n ? a[i] : 0.0f;
    for (int o = 4; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o, 8);
    v += __shfl_xor_sync(kFullMask, v, 8);
    v += __shfl_xor_sync(kFullMask, v, 16);
    const int64_t w = i / 32;
    if (threadIdx.x % 32 == 0 && w < warps) out[w] = v;
}

__global__ void block_scan_kernel(const float* __restrict__ a, float* __restrict__ out, int64_t n) {
    DK_SHARED(float, warp_totals, [kBlock / 32]);
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t i = int64_t(blockIdx.x) * kBlock + threadIdx.x;
    float v = i < n ? a[i] : 0.0f;
    for (int o = 1; o < 32; o <<= 1) {
        const float up = __shfl_up_sync(kFullMask, v, o);
        if (lane >= o) v += up;
    }
    if (lane == 31) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < kBlock / 32 ? warp_totals[lane] : 0.0f;
        for (int o = 1; o < kBlock / 32; o <<= 1) {
            const float up = __shfl_up_sync(kFullMask, t, o);
            if (lane >= o) t += up;
        }
        if (lane < kBlock / 32) warp_totals[lane] = t;
    }
    __syncthreads();
    if (warp > 0) v += warp_totals[warp - 1];
    if (i < n) out[i] = v;
}

__global__ void shared_histogram_kernel(const int32_t* __restrict__ a, int32_t* __restrict__ out, int64_t n,
                                        int bins) {
    DK_DYNAMIC_SHARED(int32_t, hist);
    for (int b = threadIdx.x; b < bins; b += blockDim.x) hist[b] = 0;
    __syncthreads();
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const int32_t v = a[i];
        if (v >= 0 && v < bins) atomicAdd(&hist[v], 1);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < bins; b += blockDim.x)
        if (hist[b]) atomicAdd(&out[b], hist[b]);
}

// One block of 4 warps; warp w computes rows 16w .. 16w+15 of the 64x64 product.
template <typename T>
__global__ void mma_gemm_kernel(const T* __restrict__ a, const T* __restrict__ b, float* __restrict__ out) {
    constexpr int S = 64;
    DK_DYNAMIC_SHARED(T, smem);  // A then B, row-major
    for (int i = threadIdx.x; i < 2 * S * S; i += blockDim.x) smem[i] = i < S * S ? a[i] : b[i - S * S];
    __syncthreads();
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int g = lane >> 2, t = lane & 3;
    float acc[S / 8][4] = {};
    for (int k0 = 0; k0 < S; k0 += 16) {
        uint32_t af[4];
        ldmatrix<4>(af, &smem[(16 * warp + lane % 16) * S + k0 + 8 * (lane / 16)]);
        for (int p = 0; p < S / 16; ++p) {  // two 8-column tiles of B per ldmatrix.x4.trans
            uint32_t bf[4];
            ldmatrix<4, true>(bf, &smem[S * S + (k0 + lane % 8 + 8 * ((lane / 8) & 1)) * S + 16 * p + 8 * (lane / 16)]);
            const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
            mma_m16n8k16<T>(acc[2 * p], af, b0, acc[2 * p]);
            mma_m16n8k16<T>(acc[2 * p + 1], af, b1, acc[2 * p + 1]);
        }
    }
    for (int nt = 0; nt < S / 8; ++nt)
        for (int i = 0; i < 4; ++i) out[(16 * warp + g + 8 * (i >> 1)) * S + 8 * nt + 2 * t + (i & 1)] = acc[nt][i];
}

constexpr int kTile = 256;       // floats per pipeline stage
constexpr int kPipeThreads = 64; // each moves one 16-byte chunk per stage

// Issues this thread's copies of tile `tile` into stage buffer `dst`.
__device__ __forceinline__ void issue_tile(float* dst, const float* a, int64_t n, int64_t tile, bool vec) {
    const int c = threadIdx.x;
    const int64_t e = tile * kTile + 4 * c;
    if (vec && e + 4 <= n) {
        cp_async<16, CacheOp::cg>(dst + 4 * c, a + e);
    } else {
        for (int k = 0; k < 4; ++k)
            if (e + k < n) cp_async<4>(dst + 4 * c + k, a + e + k);
    }
}

__global__ void cp_async_pipeline_kernel(const float* __restrict__ a, float* __restrict__ out, int64_t n, bool vec) {
    DK_DYNAMIC_SHARED(float, stage);  // two buffers of kTile floats
    const int64_t tiles = (n + kTile - 1) / kTile;
    int buf = 0;
    if (int64_t(blockIdx.x) < tiles) issue_tile(&stage[0], a, n, blockIdx.x, vec);
    cp_async_commit();
    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x, buf ^= 1) {
        const int64_t next = tile + gridDim.x;
        if (next < tiles) issue_tile(&stage[(buf ^ 1) * kTile], a, n, next, vec);
        cp_async_commit();
        cp_async_wait<1>();  // this tile's group has landed; the next one may still be in flight
        __syncthreads();
        const int c = kPipeThreads - 1 - int(threadIdx.x);  // read a chunk another thread copied
        for (int k = 0; k < 4; ++k) {
            const int64_t e = tile * kTile + 4 * c + k;
            if (e < n) out[e] = 2.0f * stage[buf * kTile + 4 * c + k] + 1.0f;
        }
        __syncthreads();  // the buffer is refilled next iteration
    }
    cp_async_wait<0>();
}

__global__ void bug_missing_barrier_kernel(const float* __restrict__ a, float* __restrict__ out, int64_t n) {
    DK_DYNAMIC_SHARED(float, s);
    const int64_t i = int64_t(blockIdx.x) * kBlock + threadIdx.x;
    s[threadIdx.x] = i < n ? a[i] : 0.0f;
    // BUG: a __syncthreads() belongs here
    if (i < n) out[i] = s[(threadIdx.x + 1) % kBlock];
}

__global__ void bug_divergent_barrier_kernel(const float* __restrict__ a, float* __restrict__ out, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * kBlock + threadIdx.x;
    if (threadIdx.x % 2 == 0) __syncthreads();  // BUG: odd threads never arrive
    if (i < n) out[i] = a[i];
}

__global__ void bug_bad_shuffle_mask_kernel(const float* __restrict__ a, float* __restrict__ out, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * kBlock + threadIdx.x;
    float v = i < n ? a[i] : 0.0f;
    if (threadIdx.x % 32 < 16) v += __shfl_xor_sync(kFullMask, v, 1);  // BUG: mask names lanes 16-31
    if (i < n) out[i] = v;
}

void selftest(const Exec& ex, const SelfTestArgs& t) {
    const int64_t n = t.n;
    const unsigned blocks = unsigned((n + kBlock - 1) / kBlock);
    const float* a = static_cast<const float*>(t.a);
    float* out = static_cast<float*>(t.out);
    const char* name = kSelfTestNames[int(t.test)];
    switch (t.test) {
        case SelfTest::block_reduce:
            if (n) launch(ex, name, block_reduce_kernel, dim3(blocks), dim3(kBlock), 0, a, out, n);
            return;
        case SelfTest::warp_reduce:
            if (n) launch(ex, name, warp_reduce_kernel, dim3(blocks), dim3(kBlock), 0, a, out, n, t.out_n);
            return;
        case SelfTest::block_scan:
            if (n) launch(ex, name, block_scan_kernel, dim3(blocks), dim3(kBlock), 0, a, out, n);
            return;
        case SelfTest::shared_histogram: {
            fill(ex, DType::i32, t.out, t.out_n, 0.0);
            if (n)
                launch(ex, name, shared_histogram_kernel, dim3(grid_for(ex, n, kBlock, 2)), dim3(kBlock),
                       size_t(t.out_n) * sizeof(int32_t), static_cast<const int32_t*>(t.a),
                       static_cast<int32_t*>(t.out), n, int(t.out_n));
            return;
        }
        case SelfTest::mma_gemm:
            dispatch_floating(t.dtype, [&](auto tag) {
                using T = typename decltype(tag)::type;
                if constexpr (!std::is_same<T, float>::value)
                    launch(ex, name, mma_gemm_kernel<T>, dim3(1), dim3(128), 2 * 64 * 64 * sizeof(T),
                           static_cast<const T*>(t.a), static_cast<const T*>(t.b), out);
            });
            return;
        case SelfTest::cp_async_pipeline: {
            if (!n) return;
            const bool vec = reinterpret_cast<uintptr_t>(a) % 16 == 0;
            launch(ex, name, cp_async_pipeline_kernel, dim3(grid_for(ex, (n + kTile - 1) / kTile, 1, 2)),
                   dim3(kPipeThreads), 2 * kTile * sizeof(float), a, out, n, vec);
            return;
        }
        case SelfTest::bug_missing_barrier:
            if (n) launch(ex, name, bug_missing_barrier_kernel, dim3(blocks), dim3(kBlock), kBlock * sizeof(float), a, out, n);
            return;
        case SelfTest::bug_divergent_barrier:
            if (n) launch(ex, name, bug_divergent_barrier_kernel, dim3(blocks), dim3(kBlock), 0, a, out, n);
            return;
        case SelfTest::bug_bad_shuffle_mask:
            if (n) launch(ex, name, bug_bad_shuffle_mask_kernel, dim3(blocks), dim3(kBlock), 0, a, out, n);
            return;
    }
}

}  // namespace DK_BACKEND
}  // namespace dk
