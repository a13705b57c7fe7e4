// gemm_sm90.cu - the Hopper GEMM (sm_90a): out = act(op(a) @ op(b) + bias) + residual for f16 /
// bf16 with f32 accumulation, on wgmma fed by TMA, chosen by gemm() on compute capability 9.x.
//
// Persistent and warp-specialized: a grid of min(tiles, SMs) blocks, each taking 128 x 256 output
// tiles with a stride of the grid, batch after batch, in grouped order within a batch
// (tile_order.cuh); a batch is the third dim of the operands' tensor maps. A block is three warpgroups:
//   producer  (warpgroup 0, 40 registers): one elected thread waits for a free stage, announces its
//             bytes on the stage's `full` barrier and issues the TMA loads of A [128 x 64] and
//             B [256 x 64] (128-byte swizzle); the stages run on across tiles, so the next tile's
//             operands load while the consumers finish the last one.
//   consumers (warpgroups 1 and 2, 232 registers each): consumer c owns rows 64c .. 64c + 63 of
//             the tile, a 64 x 256 f32 accumulator (128 registers per thread); per stage it waits
//             on `full`, issues four wgmma.m64n256k16 (A and B from shared-memory descriptors),
//             commits them and waits for the previous stage's group, whose stage it then releases
//             on `empty` (one arrival per warp): one stage of products in flight behind the one
//             being issued. After the last stage, the epilogue (gemm_epilogue.cuh: bias,
//             activation, residual) stores the tile 32 columns at a time through a small buffer
//             per warp, so a warp's stores are whole row segments.
// Operand layouts: a 64-element K step is one 128-byte swizzle row. K-major operands (A as
// stored [m][k], B stored transposed [n][k]) land as one box [rows][64] whose 8-row atoms are
// 1024 bytes apart (SBO); a k16 step moves the descriptor 32 bytes. MN-major operands (A stored
// [k][m], B as stored [k][n]) land as boxes of 64 rows (M or N) x 64 k, 8 KB each, one per 64 rows
// (LBO 8192, SBO 1024 per 8 k); a k16 step moves 2048 bytes. Either way consumer c's A is the 8 KB
// at 8192 c of the stage. TMA fills past the tensor's edges with zeros and counts the whole box's
// bytes, so any M, N, K runs; the epilogue stores only what is inside.
// Shared memory: 4 stages x (16 + 32) KB + 8 x 2.5 KB epilogue buffers + 8 barriers = 212 KB (of
// sm_90's 227), base 1024-byte
// aligned as the 128-byte swizzle needs (dynamic shared memory starts there: the kernel declares
// no static shared memory). Registers: 40 x 128 + 232 x 256 = 64512 of the SM's 65536, so one block
// per SM; __launch_bounds__ caps the kernel at 168 before the producer gives its share away.
// FLOPs 2 M N K; traffic per tile: (128 + 256) x K x 2 bytes in, 128 x 256 outputs out; per k16
// step a consumer's wgmma reads 64 x 16 of A and 256 x 16 of B from shared memory for 64 x 256 x 16
// multiply-adds.
#include "deepkern/arch.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/pipeline_sync.cuh"
#include "deepkern/portable.cuh"
#include "deepkern/tma.cuh"
#include "deepkern/wgmma.cuh"
#include "gemm/gemm_epilogue.cuh"
#include "gemm/gemm_sm90.h"
#include "gemm/tile_order.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {

// The block's tiles, stages, shared memory and register split, for operand type T.
template <typename T>
struct Sm90Gemm {
    static constexpr int kM = 128, kN = 256;      // the block's output tile
    static constexpr int kK = 128 / int(sizeof(T));  // K per stage: one 128-byte swizzle row
    static constexpr int kStages = 4;
    static constexpr int kConsumers = 2;          // warpgroups, kM / kConsumers rows each
    static constexpr int kThreads = 128 * (1 + kConsumers);
    static constexpr int kBoxRows = 64;           // rows (M or N) per box of an MN-major operand
    static constexpr int kBoxBytes = kBoxRows * 128;
    static constexpr int kABytes = kM * 128, kBBytes = kN * 128, kStageBytes = kABytes + kBBytes;
    static constexpr int kLdE = 40;  // the epilogue buffer's row stride: a 16 x 32 f32 chunk per warp
    static constexpr int kEpilogueAt = kStages * kStageBytes, kBarriersAt = kEpilogueAt + 4 * kConsumers * 16 * kLdE * 4;
    static constexpr size_t kShared = size_t(kBarriersAt) + 2 * kStages * sizeof(uint64_t);
    static constexpr int kProducerRegisters = 40, kConsumerRegisters = 232;
    static_assert(kM / kConsumers == 64, "a consumer's rows are one wgmma's M");
    static_assert(kM % kBoxRows == 0 && kN % kBoxRows == 0, "whole boxes per MN-major operand");
    static_assert(kABytes / kConsumers == kBoxBytes, "consumer c's A is the c-th 8 KB of the stage in either major");
    static_assert(kStageBytes % 1024 == 0, "every stage starts on the 128-byte swizzle's 1024-byte repeat");
    static_assert(kShared <= DK_SHARED_LIMIT_SM90, "the stages fit sm_90's shared memory");
    static_assert(kProducerRegisters * 128 + kConsumerRegisters * 128 * kConsumers <= 65536,
                  "the register split fits the SM's register file");
};

// An operand tile's descriptor and the bytes its start moves per k16 step (the file comment's
// layouts): MN-major boxes 8 KB apart along M / N, 1024 bytes per 8 k; K-major 8-row atoms 1024
// bytes apart, k contiguous.
template <bool MnMajor>
struct Sm90Operand {
    static constexpr uint32_t kStep = MnMajor ? 16 * 128 : 16 * 2;
    static __device__ __forceinline__ uint64_t descriptor(const void* tile) {
        return wgmma_descriptor(tile, WgmmaSwizzle::b128, MnMajor ? 8192 : 16, 1024);
    }
    // Rows r0 .. r0 + Rows - 1 and k0 .. k0 + 63 of batch z's operand into dst, completing on bar.
    template <int Rows>
    static __device__ __forceinline__ void load(unsigned char* dst, const TensorMap& map, uint64_t* bar, int r0, int k0,
                                                int z) {
        if constexpr (MnMajor) {
            DK_UNROLL
            for (int j = 0; j < Rows / 64; ++j) tma_load<3>(dst + j * 8192, map, bar, {r0 + 64 * j, k0, z});
        } else {
            tma_load<3>(dst, map, bar, {k0, r0, z});
        }
    }
};

}  // namespace

// TransA: a stored [k][m] (MN-major); TransB: b stored [n][k] (K-major; as stored [k][n], MN-major).
template <typename T, bool TransA, bool TransB>
__global__ void __launch_bounds__(Sm90Gemm<T>::kThreads, 1)
    gemm_sm90_kernel(const DK_GRID_CONSTANT TensorMap map_a, const DK_GRID_CONSTANT TensorMap map_b, GemmArgs p) {
#if DK_SM90A
    using G = Sm90Gemm<T>;
    using OpA = Sm90Operand<TransA>;
    using OpB = Sm90Operand<!TransB>;
    DK_DYNAMIC_SHARED(unsigned char, smem);  // kStages x {A [kM x kK], B [kN x kK]}, epilogue buffers, barriers
    uint64_t* full = reinterpret_cast<uint64_t*>(&smem[G::kBarriersAt]);
    uint64_t* empty = full + G::kStages;
    const int warpgroup = int(threadIdx.x) / 128, lane = int(threadIdx.x) % 32;
    if (threadIdx.x == 0)
        for (int s = 0; s < G::kStages; ++s) {
            mbarrier_init(&full[s], 1);                     // the producer's arrive_expect_tx
            mbarrier_init(&empty[s], 4 * G::kConsumers);  // one arrival per consumer warp
        }
    __syncthreads();
    // tiles of batch z are z * per_batch .. (z + 1) * per_batch - 1 (gemm_sm90 keeps the total below 2^31)
    const unsigned tiles_m = unsigned((p.m + G::kM - 1) / G::kM), tiles_n = unsigned((p.n + G::kN - 1) / G::kN);
    const unsigned per_batch = tiles_m * tiles_n, tiles = per_batch * unsigned(p.batch);
    const int steps = int((p.k + G::kK - 1) / G::kK);
    int stage = 0;
    unsigned phase = 0;  // of the ring's current pass: stage s's barriers complete once per pass
    const auto advance = [&] {
        if (++stage == G::kStages) {
            stage = 0;
            phase ^= 1;
        }
    };
    if (warpgroup == 0) {  // the producer
        setmaxnreg<false, G::kProducerRegisters>();
        if (threadIdx.x < 32 && elect_one_sync()) {
            for (unsigned tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
                unsigned tm, tn;
                const int z = int(tile / per_batch);
                tile_of(tile % per_batch, tiles_m, tiles_n, tm, tn);
                for (int s = 0; s < steps; ++s, advance()) {
                    mbarrier_wait_parity(&empty[stage], phase ^ 1);  // the first pass finds every stage free
                    unsigned char* a = &smem[stage * G::kStageBytes];
                    mbarrier_arrive_expect_tx(&full[stage], G::kStageBytes);
                    OpA::template load<G::kM>(a, map_a, &full[stage], int(tm) * G::kM, s * G::kK, z);
                    OpB::template load<G::kN>(a + G::kABytes, map_b, &full[stage], int(tn) * G::kN, s * G::kK, z);
                }
            }
        }
        return;
    }
    setmaxnreg<true, G::kConsumerRegisters>();
    const int consumer = warpgroup - 1, warp = int(threadIdx.x) / 32 % 4, g = lane / 4, t = lane % 4;
    const auto release = [&](int s) {  // this warp's products reading stage s are done
        __syncwarp();
        if (lane == 0) mbarrier_arrive(&empty[s]);
    };
    float acc[G::kN / 2];  // D[16 warp + g + 8 ((i % 4) / 2)][8 (i / 4) + 2 t + i % 2] of the consumer's rows
    for (unsigned tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        unsigned tm, tn;
        const int64_t z = tile / per_batch;
        tile_of(tile % per_batch, tiles_m, tiles_n, tm, tn);
        int previous = 0;
        for (int s = 0; s < steps; ++s, advance()) {
            mbarrier_wait_parity(&full[stage], phase);
            const unsigned char* a = &smem[stage * G::kStageBytes];
            const uint64_t da = OpA::descriptor(a + consumer * G::kBoxBytes), db = OpB::descriptor(a + G::kABytes);
            wgmma_fence();
            DK_UNROLL
            for (int k = 0; k < G::kK / 16; ++k)
                wgmma_ss<T, G::kN, TransA, !TransB>(acc, da + k * (OpA::kStep >> 4), db + k * (OpB::kStep >> 4),
                                                    s > 0 || k > 0);
            wgmma_commit_group();
            wgmma_wait_group<1>();  // the previous stage's products are done: it may be refilled
            if (s > 0) release(previous);
            previous = stage;
        }
        wgmma_wait_group<0>();
        release(previous);
        // The epilogue: 32 columns at a time through the warp's own buffer (one epilogue call site,
        // not one per accumulator, and a warp's stores cover 32 consecutive columns of a row).
        float* buffer = reinterpret_cast<float*>(&smem[G::kEpilogueAt]) + (4 * consumer + warp) * 16 * G::kLdE;
        const int64_t m0 = int64_t(tm) * G::kM + 64 * consumer + 16 * warp, n0 = int64_t(tn) * G::kN;
#pragma unroll 1
        for (int q = 0; q < G::kN / 32; ++q) {
            __syncwarp();  // the last chunk's reads are done
            DK_UNROLL
            for (int c = 0; c < G::kN / 32; ++c)  // static indices into acc: it stays in registers
                if (c == q)
                    DK_UNROLL
                    for (int i = 16 * c; i < 16 * c + 16; i += 2) {
                        float* at = buffer + (g + 8 * ((i % 4) / 2)) * G::kLdE + 8 * (i / 4 - 4 * c) + 2 * t;
                        at[0] = acc[i];
                        at[1] = acc[i + 1];
                    }
            __syncwarp();
            for (int r = 0; r < 16; ++r) {
                const int64_t m = m0 + r, n = n0 + 32 * q + lane;
                if (m < p.m && n < p.n) gemm_store<T>(p, z, m, n, buffer[r * G::kLdE + lane]);
            }
        }
    }
#else
    __trap();  // chosen only on compute capability 9.x, where the sm_90a pass's code runs
#endif
}

namespace {

// The tensor map of a batch of operands of `rows` (M or N) by k, stored K-major ([rows][k]) or
// MN-major ([k][rows]), `stride` elements apart, in the boxes Sm90Operand<MnMajor>::load copies.
template <typename T>
TensorMap sm90_operand_map(const void* data, int64_t batch, int64_t stride, int64_t rows, int64_t k, bool mn_major,
                           int tile_rows) {
    constexpr int kK = Sm90Gemm<T>::kK, e = int(sizeof(T));
    const uint64_t between = batch == 1 ? 16 : uint64_t(stride) * e;  // one batch is never stepped over
    if (mn_major)
        return make_tensor_map({3, e, data, {uint64_t(rows), uint64_t(k), uint64_t(batch)}, {uint64_t(rows) * e, between},
                                {64, uint32_t(kK), 1}, TmaSwizzle::b128});
    return make_tensor_map({3, e, data, {uint64_t(k), uint64_t(rows), uint64_t(batch)}, {uint64_t(k) * e, between},
                            {uint32_t(kK), uint32_t(tile_rows), 1}, TmaSwizzle::b128});
}

}  // namespace

bool gemm_sm90(const Exec& ex, DType dtype, const GemmArgs& a) {
    const int64_t limit = int64_t(1) << 31;
    if (!runs_sm90a(ex) || (dtype != DType::f16 && dtype != DType::bf16) || a.k <= 0 ||
        a.m >= limit || a.n >= limit || a.k >= limit)
        return false;
    // TMA: global addresses and the strides between rows multiples of 16 bytes; batches one dim of
    // strides that are too (a broadcast operand, stride 0, stays on the Ampere kernel)
    if ((a.trans_a ? a.m : a.k) % 8 != 0 || (a.trans_b ? a.k : a.n) % 8 != 0 || !aligned16({a.a, a.b})) return false;
    if (a.batch != 1 && (a.batch_dims != 1 || a.a_stride[0] <= 0 || a.b_stride[0] <= 0 || a.a_stride[0] % 8 != 0 ||
                         a.b_stride[0] % 8 != 0))
        return false;
    const int64_t per_batch = ((a.m + 127) / 128) * ((a.n + 255) / 256);
    if (per_batch * a.batch >= limit) return false;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (!std::is_same<T, float>::value) {
            using G = Sm90Gemm<T>;
            static_assert(G::kM == 128 && G::kN == 256, "per_batch above counts these tiles");
            const TensorMap map_a = sm90_operand_map<T>(a.a, a.batch, a.a_stride[0], a.m, a.k, a.trans_a, G::kM);
            const TensorMap map_b = sm90_operand_map<T>(a.b, a.batch, a.b_stride[0], a.n, a.k, !a.trans_b, G::kN);
            const int64_t tiles = per_batch * a.batch;
            const dim3 grid(unsigned(tiles < ex.multiprocessors ? tiles : ex.multiprocessors));
            dispatch_bool(a.trans_a, [&](auto ta) {
                dispatch_bool(a.trans_b, [&](auto tb) {
                    launch(ex, "gemm_sm90", gemm_sm90_kernel<T, decltype(ta)::value, decltype(tb)::value>, grid,
                           dim3(G::kThreads), G::kShared, map_a, map_b, a);
                });
            });
        }
    });
    return true;
}

}  // namespace DK_BACKEND
}  // namespace dk
