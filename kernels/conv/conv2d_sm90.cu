// conv2d_sm90.cu - the convolution forward on Hopper (sm_90a): NHWC bf16 / f16 as an implicit GEMM
// on wgmma, chosen by conv2d_forward_mma on compute capability 9.x. The GEMM is conv2d_mma.cu's:
// rows are output pixels (n, p, q), columns filters of one group, the reduction (r, s, c) with c
// fastest: out[pixel][k] = sum over red of im2col(x)[pixel][red] w[k][red], then conv2d.cu's epilogue
// (bias, activation, residual) per output.
//
// A block owns 128 pixels x 128 filters and is three warpgroups:
//   producer  (warpgroup 0): its 128 threads gather the A tile of each reduction step, 128 pixels x
//             32 reductions (one 16-byte cp.async per pixel and tap's 8 channels, zeros in the
//             padding: conv_taps.cuh's ForwardTaps, no division in the loop), and one elected
//             thread loads the B tile, 128 filters x 32 reductions of w [K][red], by TMA. A stage's
//             copies are waited for two steps later (cp.async groups), made visible to the async
//             proxy (fence.proxy.async: wgmma reads what the threads' copies wrote) and announced
//             on the stage's `full` barrier (128 arrivals + TMA's bytes); 6 stages.
//   consumers (warpgroups 1 and 2): consumer c owns pixels 64c .. 64c + 63, a 64 x 128 f32
//             accumulator; per stage it waits on `full`, issues two wgmma.m64n128k16, and releases
//             the stage before (one arrival per warp on `empty`) once a wait_group says its products
//             are done. The epilogue stores from the registers.
// Layout: a stage's tiles are K-major rows of 64 bytes (32 reductions) with the 64-byte swizzle
// (chunk index XOR address bits 7-8): TMA writes B so, the producer threads place A's chunks so,
// and the descriptors read both (8-row atoms 512 bytes apart, SBO; a k16 step moves 32 bytes).
// Taken where C / groups is a whole number of 8-element chunks, x and w are 16-byte aligned (so is
// every row of w: red = R S C / groups is a multiple of 8) and K, red fit TMA's 32-bit coordinates.
// Shared memory 6 x 16 KB + 13 barriers.
// FLOPs 2 N P Q K R S C / groups; traffic per block: its x taps (L2 serves the reuse across the
// R S taps) and 128 filters' weights per reduction step.
#include "deepkern/portable.cuh"
#include "conv/conv.cuh"
#include "conv/conv_paths.h"
#include "conv/conv_taps.cuh"
#include "deepkern/arch.cuh"
#include "deepkern/async_copy.cuh"
#include "deepkern/pipeline_sync.cuh"
#include "deepkern/tma.cuh"
#include "deepkern/packs.cuh"
#include "deepkern/wgmma.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {

template <typename T>
struct Sm90Conv {
    static constexpr int kM = 128, kN = 128, kK = 32;  // pixels, filters, reductions per stage (64-byte rows)
    static constexpr int kStages = 6, kLag = 2;        // stages; a stage's gathers are announced kLag steps on
    static constexpr int kConsumers = 2, kThreads = 128 * (1 + kConsumers);
    static constexpr int kABytes = kM * 64, kBBytes = kN * 64, kStageBytes = kABytes + kBBytes;
    static constexpr int kBarriersAt = kStages * kStageBytes;
    static constexpr size_t kShared = size_t(kBarriersAt) + 2 * kStages * sizeof(uint64_t);
    using Taps = ForwardTaps<T, kK, 128, kM>;
    static_assert(sizeof(T) == 2 && kK * 2 == 64, "f16 / bf16 in 64-byte swizzled rows");
    static_assert(kM / kConsumers == 64, "a consumer's rows are one wgmma's M");
    static_assert(kStageBytes % 512 == 0 && kABytes % 512 == 0, "tiles on the 64-byte swizzle's 512-byte repeat");
    static_assert(kStages > kLag + 1, "a stage's gathers are announced before it is refilled");
    static_assert(kShared <= DK_SHARED_LIMIT_SM90, "fits sm_90's shared memory");
};

// The byte offset of 16-byte chunk ch of row `row` in a K-major tile of 64-byte rows, 64-byte swizzle.
__device__ __forceinline__ int swizzled64(int row, int ch) { return row * 64 + ((ch ^ (row / 2 % 4)) * 16); }

__device__ __forceinline__ uint64_t k_major64(const unsigned char* tile, int ks) {
    return wgmma_descriptor(tile + 32 * ks, WgmmaSwizzle::b64, 16, 512);
}

}  // namespace

template <typename T>
__global__ void __launch_bounds__(Sm90Conv<T>::kThreads, 1)
    conv2d_forward_sm90_kernel(const DK_GRID_CONSTANT TensorMap wm, ConvArgs a) {
#if DK_SM90A
    using C = Sm90Conv<T>;
    using Taps = typename C::Taps;
    DK_DYNAMIC_SHARED(unsigned char, smem);  // kStages x {A [kM][kK], B [kN][kK]}, barriers
    uint64_t* full = reinterpret_cast<uint64_t*>(&smem[C::kBarriersAt]);
    uint64_t* empty = full + C::kStages;
    const ConvGeom g = a.g;
    const int64_t m_total = g.n * g.p * g.q, kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g);
    const int64_t m0 = int64_t(blockIdx.x) * C::kM, k0 = int64_t(blockIdx.y) * C::kN;
    const int64_t steps = (red + C::kK - 1) / C::kK;
    const int warpgroup = int(threadIdx.x) / 128, lane = int(threadIdx.x) % 32;
    if (threadIdx.x == 0)
        for (int s = 0; s < C::kStages; ++s) {
            mbarrier_init(&full[s], 128 + 1);            // the producer's threads + TMA's arrive_expect_tx
            mbarrier_init(&empty[s], 4 * C::kConsumers);  // one arrival per consumer warp
        }
    __syncthreads();
    int64_t step_base = 0;  // the pipeline runs on across groups: step_base + j is the ring's step
    for (int64_t grp = blockIdx.z; grp < g.groups; grp += gridDim.z, step_base += steps) {
        if (warpgroup == 0) {  // the producer
            const T* x = static_cast<const T*>(a.x);
            Taps taps(g, m0, m_total);
            const bool leader = threadIdx.x < 32 && elect_one_sync();
            const auto announce = [&](int64_t j) {  // stage of step j: this thread's gathers landed
                fence_proxy_async();
                mbarrier_arrive(&full[(step_base + j) % C::kStages]);
            };
            for (int64_t j = 0; j < steps; ++j) {
                const int64_t at = step_base + j;
                const int s = int(at % C::kStages);
                mbarrier_wait_parity(&empty[s], unsigned(at / C::kStages + 1) & 1);
                unsigned char* stage = &smem[s * C::kStageBytes];
                if (leader) {
                    mbarrier_arrive_expect_tx(&full[s], C::kBBytes);
                    tma_load<2>(stage + C::kABytes, wm, &full[s], {int(j * C::kK), int(grp * kgs + k0)});
                }
                const int ch = int(threadIdx.x) % (C::kK / Taps::kChunk);
                for (int k = 0; k < Taps::kRows; ++k) {
                    const T* from = taps.source(g, x, grp * cgs, red, k);
                    cp_async_zfill(stage + swizzled64(int(threadIdx.x) / (C::kK / Taps::kChunk) + k * Taps::kRowStep, ch),
                                   from ? from : x, from != nullptr);
                }
                taps.advance(g, cgs);
                cp_async_commit();
                if (j >= C::kLag) {
                    cp_async_wait<C::kLag>();
                    announce(j - C::kLag);
                }
            }
            cp_async_wait<0>();
            for (int64_t j = steps > C::kLag ? steps - C::kLag : 0; j < steps; ++j) announce(j);
            continue;
        }
        const int consumer = warpgroup - 1, warp = int(threadIdx.x) / 32 % 4, g4 = lane / 4, t = lane % 4;
        float acc[C::kN / 2];  // D[16 warp + g4 + 8 ((i % 4) / 2)][8 (i / 4) + 2 t + i % 2] of the consumer's rows
        int previous = 0;
        for (int64_t j = 0; j < steps; ++j) {
            const int64_t at = step_base + j;
            const int s = int(at % C::kStages);
            mbarrier_wait_parity(&full[s], unsigned(at / C::kStages) & 1);
            const unsigned char* stage = &smem[s * C::kStageBytes];
            wgmma_fence();
            DK_UNROLL
            for (int ks = 0; ks < C::kK / 16; ++ks)
                wgmma_ss<T, C::kN, false, false>(acc, k_major64(stage + consumer * 64 * 64, ks),
                                                 k_major64(stage + C::kABytes, ks), j > 0 || ks > 0);
            wgmma_commit_group();
            wgmma_wait_group<1>();  // the previous step's products are done: its stage may be refilled
            if (j > 0) {
                __syncwarp();
                if (lane == 0) mbarrier_arrive(&empty[previous]);
            }
            previous = s;
        }
        wgmma_wait_group<0>();
        if (steps > 0) {
            __syncwarp();
            if (lane == 0) mbarrier_arrive(&empty[previous]);
        } else {
            for (float& v : acc) v = 0.0f;
        }
        const auto out = conv_forward_tile_out<T>(a, grp, m0 + 64 * consumer, k0);
        const int64_t rows = m_total - m0 - 64 * consumer, cols = kgs - k0;
        DK_UNROLL
        for (int e = 0; e < 2; ++e) {  // rows 16 warp + g4 and 8 below
            const int i = 16 * warp + g4 + 8 * e;
            if (i >= rows) continue;
            const auto store = out(i);
            DK_UNROLL
            for (int nt = 0; nt < C::kN / 8; ++nt)
                DK_UNROLL
                for (int c = 0; c < 2; ++c) {
                    const int col = 8 * nt + 2 * t + c;
                    if (col < cols) store(col, acc[4 * nt + 2 * e + c]);
                }
        }
    }
#else
    __trap();  // chosen only on compute capability 9.x
#endif
}

bool conv2d_sm90_eligible(const Exec& ex, DType dtype, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const int64_t cgs = g.c / g.groups, kgs = g.k / g.groups, limit = int64_t(1) << 31;
    return runs_sm90a(ex) && (dtype == DType::bf16 || dtype == DType::f16) && g.nhwc && cgs > 0 &&
           cgs % 8 == 0 && kgs > 0 && g.k < limit && conv_red(g) < limit && aligned16({a.x, a.w});
}

bool conv2d_forward_sm90(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (!conv2d_sm90_eligible(ex, dtype, a)) return false;
    const ConvGeom& g = a.g;
    const int64_t kgs = g.k / g.groups, red = conv_red(g), m_total = g.n * g.p * g.q;
    if (m_total == 0) return true;
    const auto go = [&](auto tag) {
        using T = decltype(tag);
        using C = Sm90Conv<T>;
        // w [K][red]: boxes of 32 reductions (64 bytes, the swizzle's span) x 128 filters
        const TensorMap wm = make_tensor_map({2, 2, a.w, {uint64_t(red), uint64_t(g.k)}, {uint64_t(red) * 2},
                                              {uint32_t(C::kK), uint32_t(C::kN)}, TmaSwizzle::b64});
        const dim3 grid(unsigned((m_total + C::kM - 1) / C::kM), unsigned((kgs + C::kN - 1) / C::kN),
                        unsigned(g.groups < 65535 ? g.groups : 65535));
        launch(ex, "conv2d_forward_sm90", conv2d_forward_sm90_kernel<T>, grid, dim3(C::kThreads), C::kShared, wm, a);
    };
    if (dtype == DType::bf16)
        go(bf16{});
    else
        go(f16{});
    return true;
}

}  // namespace DK_BACKEND
}  // namespace dk
