// gemm.cu - batched matrix products with a fused epilogue: out = act(op(a) @ op(b) + bias) + residual.
//
// A tiled FMA kernel (f32 math for every dtype): each block computes a 64 x 64 tile of one batch's
// output with 256 threads, each thread a 4 x 4 register tile whose rows and columns are 16 apart
// (so a warp's shared-memory reads are conflict-free broadcasts and consecutive). K advances in
// steps of 16: both operand tiles are staged through shared memory as f32 [k][m] and [k][n] with
// zero fill past the edges, so any M, N, K works, transposed or not. The epilogue
// (deepkern/gemm_epilogue.cuh) adds the bias, applies the activation and the residual and stores.
// The batch runs in gridDim.z (grid-stride beyond 65535), with broadcast batch dims as stride 0.
// Compute-bound for large sizes: 2 MNK FLOPs over 2 * 16 * 64 * 4 bytes of shared reads per
// 64 x 64 x 16 step; the tensor-core path (mma.cuh) is not written yet.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/gemm_epilogue.cuh"

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

void gemm(const Exec& ex, DType dtype, const GemmArgs& a) {
    if (a.batch * a.m * a.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const dim3 grid(unsigned((a.m + kTileM - 1) / kTileM), unsigned((a.n + kTileN - 1) / kTileN),
                        unsigned(a.batch < 65535 ? a.batch : 65535));
        launch(ex, "gemm", gemm_kernel<T>, grid, dim3(kThreads), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
