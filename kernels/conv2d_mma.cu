// conv2d_mma.cu - the tensor-core forward of 2-D convolution: bf16 / f16, NHWC, C/groups a
// multiple of 8, f32 accumulation, the same fused epilogue as conv2d.cu.
//
// The same implicit GEMM as conv2d.cu, out[m, k] = sum_red A[m, red] * W[k, red] per group, with
// red = (r, s, c) in NHWC order: 8 consecutive taps are 8 consecutive channels of one input
// pixel, i.e. 16 contiguous bytes, so the im2col tile is gathered with 16-byte cp.async copies
// (zeros stored directly where the tap falls in the padding or past the edges), and the weight
// tile, [k][red] rows, likewise. A block of 4 warps owns a 64 x 64 output tile; per 32-wide step of
// red each warp loads its 16 x 16 A fragments with ldmatrix.x4, the 16 x 16 (two n8 tiles) W
// fragments with ldmatrix.x4 (W rows are B's columns, so no .trans) and issues mma.m16n8k16 into a
// 16 x 64 f32 accumulator. Shared rows are padded to 40 elements (80 bytes) so the eight row
// addresses of an ldmatrix fall in different banks.
// Two pipeline stages: while the tensor cores multiply one pair of tiles, the cp.async copies of
// the next pair are in flight (commit per stage, wait_group<1>, then a barrier).
// FLOPs 2 N P Q K C/g R S on tensor cores; traffic as conv2d.cu's.
#include "deepkern/portable.cuh"
#include "deepkern/async_copy.cuh"
#include "deepkern/conv.cuh"
#include "deepkern/conv_mma.h"
#include "deepkern/dispatch.h"
#include "deepkern/mma.cuh"

namespace dk {
namespace DK_BACKEND {

constexpr int kMmaM = 64, kMmaN = 64, kMmaK = 32, kMmaLd = kMmaK + 8, kMmaThreads = 128;
constexpr int kMmaStage = (kMmaM + kMmaN) * kMmaLd;  // elements of one pipeline stage

// Issues stage `st`'s copies of the A and W tiles at red offset r0 (zeros stored where there is no data).
// smem is the kernel's DK_DYNAMIC_SHARED array, indexed (bounds-checked on emu), never a raw pointer.
template <typename T, typename Smem>
__device__ __forceinline__ void mma_load_tiles(const ConvArgs& a, const Smem& smem, int st, int64_t grp, int64_t m0, int64_t k0,
                                               int64_t r0) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const int64_t m_total = g.n * g.p * g.q;
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g);
    constexpr int kChunks = kMmaK / 8;  // 16-byte chunks per tile row
    const int a_base = st * kMmaStage, w_base = a_base + kMmaM * kMmaLd;
    for (int e = threadIdx.x; e < kMmaM * kChunks; e += kMmaThreads) {
        const int mm = e / kChunks, ch = e % kChunks;
        const int64_t m = m0 + mm, rr = r0 + 8 * ch;
        const int dst = a_base + mm * kMmaLd + 8 * ch;
        int64_t xi;
        if (m < m_total && rr < red && conv_tap(g, m, rr, grp * cgs, xi))
            cp_async<16, CacheOp::cg>(&smem[dst], x + xi);
        else
            for (int z = 0; z < 8; ++z) store_float(smem[dst + z], 0.0f);
    }
    for (int e = threadIdx.x; e < kMmaN * kChunks; e += kMmaThreads) {
        const int nn = e / kChunks, ch = e % kChunks;
        const int64_t k = k0 + nn, rr = r0 + 8 * ch;
        const int dst = w_base + nn * kMmaLd + 8 * ch;
        if (k < kgs && rr < red)
            cp_async<16, CacheOp::cg>(&smem[dst], w + (grp * kgs + k) * red + rr);
        else
            for (int z = 0; z < 8; ++z) store_float(smem[dst + z], 0.0f);
    }
    cp_async_commit();
}

template <typename T>
__global__ void conv2d_forward_mma_kernel(ConvArgs a) {
    DK_DYNAMIC_SHARED(T, smem);  // two stages, each an A tile [kMmaM][kMmaLd] then a W tile [kMmaN][kMmaLd]
    const ConvGeom g = a.g;
    const int64_t m_total = g.n * g.p * g.q;
    const int64_t kgs = g.k / g.groups, red = conv_red(g);
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int gq = lane >> 2, tq = lane & 3;
    const int64_t m0 = int64_t(blockIdx.x) * kMmaM, k0 = int64_t(blockIdx.y) * kMmaN;
    const int64_t steps = (red + kMmaK - 1) / kMmaK;
    for (int64_t grp = blockIdx.z; grp < g.groups; grp += gridDim.z) {
        float acc[kMmaN / 8][4];
        for (int nt = 0; nt < kMmaN / 8; ++nt)
            for (int i = 0; i < 4; ++i) acc[nt][i] = 0.0f;
        if (steps > 0) mma_load_tiles<T>(a, smem, 0, grp, m0, k0, 0);
        for (int64_t step = 0; step < steps; ++step) {
            const int st = int(step & 1);
            // the next tile streams into the other stage while this one is multiplied
            if (step + 1 < steps) {
                mma_load_tiles<T>(a, smem, st ^ 1, grp, m0, k0, (step + 1) * kMmaK);
                cp_async_wait<1>();
            } else {
                cp_async_wait<0>();
            }
            __syncthreads();
            const int a_base = st * kMmaStage, w_base = a_base + kMmaM * kMmaLd;
            for (int ks = 0; ks < kMmaK; ks += 16) {
                uint32_t af[4];
                ldmatrix<4>(af, &smem[a_base + (16 * warp + lane % 16) * kMmaLd + ks + 8 * (lane / 16)]);
                for (int pr = 0; pr < kMmaN / 16; ++pr) {
                    // matrices j = lane / 8: n rows 16 pr + 8 (j >> 1) .. +7, red columns ks + 8 (j & 1) .. +7
                    const int j = lane / 8, i = lane % 8;
                    uint32_t bf[4];
                    ldmatrix<4>(bf, &smem[w_base + (16 * pr + 8 * (j >> 1) + i) * kMmaLd + ks + 8 * (j & 1)]);
                    const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
                    mma_m16n8k16<T>(acc[2 * pr], af, b0, acc[2 * pr]);
                    mma_m16n8k16<T>(acc[2 * pr + 1], af, b1, acc[2 * pr + 1]);
                }
            }
            __syncthreads();  // this stage is refilled two steps on
        }
        for (int i = 0; i < 4; ++i) {
            const int64_t m = m0 + 16 * warp + gq + 8 * (i >> 1);
            if (m >= m_total) continue;
            const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
            for (int nt = 0; nt < kMmaN / 8; ++nt) {
                const int64_t k = k0 + 8 * nt + 2 * tq + (i & 1);
                if (k >= kgs) continue;
                const int64_t kg = grp * kgs + k;
                conv_store_output<T>(a, acc[nt][i], kg, conv_y_index(g, n, kg, p, q));
            }
        }
    }
}

bool conv2d_mma_eligible(DType dtype, const ConvArgs& a) {
    const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
    return (dtype == DType::bf16 || dtype == DType::f16) && a.g.nhwc && (a.g.c / a.g.groups) % 8 == 0 &&
           aligned(a.x) && aligned(a.w);
}

bool conv2d_forward_mma(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (!conv2d_mma_eligible(dtype, a)) return false;
    const int64_t m_total = a.g.n * a.g.p * a.g.q, kgs = a.g.k / a.g.groups;
    if (m_total == 0 || kgs == 0) return true;
    const dim3 grid(unsigned((m_total + kMmaM - 1) / kMmaM), unsigned((kgs + kMmaN - 1) / kMmaN),
                    unsigned(a.g.groups < 65535 ? a.g.groups : 65535));
    const size_t shared = size_t(2 * kMmaStage) * 2;  // two stages of 2-byte elements
    if (dtype == DType::bf16)
        launch(ex, "conv2d_forward_mma", conv2d_forward_mma_kernel<bf16>, grid, dim3(kMmaThreads), shared, a);
    else
        launch(ex, "conv2d_forward_mma", conv2d_forward_mma_kernel<f16>, grid, dim3(kMmaThreads), shared, a);
    return true;
}

}  // namespace DK_BACKEND
}  // namespace dk
