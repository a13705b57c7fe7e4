// gemm.cu - batched matrix products with a fused epilogue: out = act(op(a) @ op(b) + bias) + residual.
//
// A tiled FMA kernel (f32 math for every dtype): each block computes a 64 x 64 tile of one batch's
// output with 256 threads, each thread a 4 x 4 register tile whose rows and columns are 16 apart
// (so a warp's shared-memory reads are conflict-free broadcasts and consecutive). K advances in
// steps of 16: both operand tiles are staged through shared memory as f32 [k][m] and [k][n] with
// zero fill past the edges, so any M, N, K works, transposed or not. The epilogue
// (deepkern/gemm_epilogue.cuh) adds the bias, applies the activation and the residual and stores.
// The batch runs in gridDim.z (grid-stride beyond 65535), with broadcast batch dims as stride 0.
// f32 runs there; f16 and bf16 run on the tensor cores (gemm_mma_kernel, mma.m16n8k16 through
// mma.cuh, same tiles and epilogue, f32 accumulation). Neither is tuned yet: no multi-stage
// cp.async pipeline, one K step of 16 per barrier pair.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/gemm_epilogue.cuh"
#include "deepkern/mma.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {
constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kThreads = 256;
}

template <typename T>
__global__ void gemm_kernel(GemmArgs p) {
    __shared__ float as[kTileK][kTileM + 4];
    __shared__ float bs[kTileK][kTileN + 4];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int64_t m0 = int64_t(blockIdx.x) * kTileM, n0 = int64_t(blockIdx.y) * kTileN;
    for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
        int64_t a_off, b_off;
        gemm_batch_offsets(p, z, a_off, b_off);
        const T* A = static_cast<const T*>(p.a) + a_off;
        const T* B = static_cast<const T*>(p.b) + b_off;
        float acc[4][4];
        DK_UNROLL
        for (int i = 0; i < 4; ++i)
            DK_UNROLL
            for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
        for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
            for (int e = tid; e < kTileM * kTileK; e += kThreads) {
                // consecutive threads take consecutive addresses of the operand as stored
                const int mm = p.trans_a ? e % kTileM : e / kTileK, kk = p.trans_a ? e / kTileM : e % kTileK;
                const int64_t gm = m0 + mm, gk = k0 + kk;
                as[kk][mm] = gm < p.m && gk < p.k ? load_float(p.trans_a ? A[gk * p.m + gm] : A[gm * p.k + gk]) : 0.0f;
            }
            for (int e = tid; e < kTileN * kTileK; e += kThreads) {
                const int nn = p.trans_b ? e / kTileK : e % kTileN, kk = p.trans_b ? e % kTileK : e / kTileN;
                const int64_t gn = n0 + nn, gk = k0 + kk;
                bs[kk][nn] = gn < p.n && gk < p.k ? load_float(p.trans_b ? B[gn * p.k + gk] : B[gk * p.n + gn]) : 0.0f;
            }
            __syncthreads();
            DK_UNROLL
            for (int kk = 0; kk < kTileK; ++kk) {
                float av[4], bv[4];
                DK_UNROLL
                for (int i = 0; i < 4; ++i) av[i] = as[kk][ty + 16 * i];
                DK_UNROLL
                for (int j = 0; j < 4; ++j) bv[j] = bs[kk][tx + 16 * j];
                DK_UNROLL
                for (int i = 0; i < 4; ++i)
                    DK_UNROLL
                    for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
            }
            __syncthreads();
        }
        DK_UNROLL
        for (int i = 0; i < 4; ++i) {
            const int64_t m = m0 + ty + 16 * i;
            if (m >= p.m) continue;
            DK_UNROLL
            for (int j = 0; j < 4; ++j) {
                const int64_t n = n0 + tx + 16 * j;
                if (n < p.n) gemm_store<T>(p, z, m, n, acc[i][j]);
            }
        }
    }
}

// The tensor-core path for f16 / bf16: a 64 x 64 output tile per block of 4 warps, warp w owning
// rows 16w .. 16w+15 and all 64 columns (8 m16n8 accumulators). Each step of K = 16 stages the
// operand tiles in shared memory in the storage dtype - A as [m][k] (row stride 24 elements, so
// each ldmatrix row is 16-byte aligned and the 8 rows hit different banks), B as [k][n] (row
// stride 72) - with zero fill past the edges and either operand layout, then per warp one
// ldmatrix.x4 of A, four ldmatrix.x4.trans of B and eight mma.m16n8k16 with f32 accumulation.
namespace {
constexpr int kMmaThreads = 128, kAStride = 24, kBStride = 72;
}

template <typename T>
__global__ void gemm_mma_kernel(GemmArgs p) {
    DK_DYNAMIC_SHARED(T, smem);  // A [64][kAStride], then B [16][kBStride]
    constexpr int kB = kTileM * kAStride;
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, g = lane >> 2, t = lane & 3;
    const int64_t m0 = int64_t(blockIdx.x) * kTileM, n0 = int64_t(blockIdx.y) * kTileN;
    T zero;
    store_float(zero, 0.0f);
    for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
        int64_t a_off, b_off;
        gemm_batch_offsets(p, z, a_off, b_off);
        const T* A = static_cast<const T*>(p.a) + a_off;
        const T* B = static_cast<const T*>(p.b) + b_off;
        float acc[kTileN / 8][4];
        DK_UNROLL
        for (int j = 0; j < kTileN / 8; ++j)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) acc[j][i] = 0.0f;
        for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
            for (int e = tid; e < kTileM * kTileK; e += kMmaThreads) {
                const int mm = p.trans_a ? e % kTileM : e / kTileK, kk = p.trans_a ? e / kTileM : e % kTileK;
                const int64_t gm = m0 + mm, gk = k0 + kk;
                smem[mm * kAStride + kk] = gm < p.m && gk < p.k ? (p.trans_a ? A[gk * p.m + gm] : A[gm * p.k + gk]) : zero;
            }
            for (int e = tid; e < kTileN * kTileK; e += kMmaThreads) {
                const int nn = p.trans_b ? e / kTileK : e % kTileN, kk = p.trans_b ? e % kTileK : e / kTileN;
                const int64_t gn = n0 + nn, gk = k0 + kk;
                smem[kB + kk * kBStride + nn] = gn < p.n && gk < p.k ? (p.trans_b ? B[gn * p.k + gk] : B[gk * p.n + gn]) : zero;
            }
            __syncthreads();
            uint32_t af[4];
            ldmatrix<4>(af, &smem[(16 * warp + lane % 16) * kAStride + 8 * (lane / 16)]);
            DK_UNROLL
            for (int q = 0; q < kTileN / 16; ++q) {  // two 8-column tiles of B per ldmatrix.x4.trans
                uint32_t bf[4];
                ldmatrix<4, true>(bf, &smem[kB + (lane % 8 + 8 * ((lane / 8) & 1)) * kBStride + 16 * q + 8 * (lane / 16)]);
                const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
                mma_m16n8k16<T>(acc[2 * q], af, b0, acc[2 * q]);
                mma_m16n8k16<T>(acc[2 * q + 1], af, b1, acc[2 * q + 1]);
            }
            __syncthreads();
        }
        DK_UNROLL
        for (int j = 0; j < kTileN / 8; ++j)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) {
                const int64_t m = m0 + 16 * warp + g + 8 * (i >> 1), n = n0 + 8 * j + 2 * t + (i & 1);
                if (m < p.m && n < p.n) gemm_store<T>(p, z, m, n, acc[j][i]);
            }
    }
}

void gemm(const Exec& ex, DType dtype, const GemmArgs& a) {
    if (a.batch * a.m * a.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const dim3 grid(unsigned((a.m + kTileM - 1) / kTileM), unsigned((a.n + kTileN - 1) / kTileN),
                        unsigned(a.batch < 65535 ? a.batch : 65535));
        if constexpr (std::is_same<T, float>::value)
            launch(ex, "gemm", gemm_kernel<T>, grid, dim3(kThreads), 0, a);
        else
            launch(ex, "gemm_mma", gemm_mma_kernel<T>, grid, dim3(kMmaThreads),
                   size_t(kTileM * kAStride + kTileK * kBStride) * sizeof(T), a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
