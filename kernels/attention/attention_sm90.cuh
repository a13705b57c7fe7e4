// attention_sm90.cuh - the attention forward on Hopper (sm_90a), FlashAttention-3's structure:
// wgmma fed by TMA in a warp-specialized block, chosen by attention_forward_typed on compute
// capability 9.x for f16 / bf16 at D = 64, 128 and 256 (attention_kernels.cuh's math: the same
// online softmax, masks, bias, GQA, logsumexp - softmax_tile and store_rows are shared).
//
// A block owns 128 query rows of one (batch, head) and is three warpgroups:
//   producer  (warpgroup 0, 24 registers): one elected thread loads the Q tile once, then streams
//             the key tiles of its kv head through 2 stages, K and V of a stage on separate `full`
//             barriers (the scores need only K), each stage reused when both consumers release it.
//   consumers (warpgroups 1 and 2, 240 registers): consumer c owns rows 64c .. 64c + 63. Per key
//             tile of Bc keys: S = Q K^T by D / 16 wgmma.m64nBck16 (Q and K from 128-byte swizzled
//             shared memory), the online softmax on S in registers (the wgmma accumulator of a
//             warp's 16 rows is the m16n8 C layout of Bc / 8 tiles, as on Ampere), then O += P V by
//             Bc / 16 wgmma.m64nDk16 with P's A fragments straight from those registers (the m16n8
//             C layout of two adjacent n8 tiles is the m16k16 A layout) and V from shared memory,
//             MN-major; the stage is then released. Pipelined within the warpgroup: S of tile j
//             is issued together with P V of tile j - 1, and tile j's softmax runs while that
//             product is on the tensor cores (O is rescaled once it is done). The two consumers
//             take turns issuing their products (named barriers 1 and 2, FA3's ping-pong): one
//             warpgroup's softmax also overlaps the other's products.
// Layouts (T = 2 bytes, 64 elements = one 128-byte swizzle row): Q [D / 64][128 rows][64], K and V
// [D / 64][Bc keys][64], each a TMA box per 64 columns of d. Q and K are K-major operands (atoms
// of 8 rows 1024 bytes apart; a k16 step moves 32 bytes within a 64-column block, the next block
// lies rows x 128 bytes on); V is MN-major for O = P V (n = d: the next 64 d lie Bc x 128 bytes on,
// LBO; 8 keys 1024 bytes apart, SBO; a k16 step of keys moves 2048 bytes).
// Bc = 128 keys up to D = 128 (S 64 + O up to 64 f32 registers per thread), 64 at D = 256 (O takes
// 128). Shared memory: Q 16 / 32 / 64 KB + 2 stages x 2 x Bc x D x 2 bytes = 80 / 160 / 192 KB.
// Rows past lq and keys past lk are TMA's zero fill; masks cut every key past a row's end.
// Taken where TMA can address the tensors: every stride of q, k, v a multiple of 16 bytes (a
// broadcast dim of extent 1 excepted) and 16-byte aligned bases; otherwise the Ampere kernel runs.
#pragma once

#include "deepkern/arch.cuh"
#include "deepkern/pipeline_sync.cuh"
#include "deepkern/tma.cuh"
#include "deepkern/wgmma.cuh"

namespace dk {
namespace DK_BACKEND {
namespace attention_detail {

template <typename T, int D>
struct Sm90Fwd {
    static constexpr int kRows = 128, kConsumers = 2, kThreads = 128 * (1 + kConsumers);
    static constexpr int Bc = D <= 128 ? 128 : 64, kStages = 2;
    static constexpr int kBlocks = D / 64;  // 64-column blocks of d: one 128-byte swizzle row each
    static constexpr int kQBytes = kRows * D * 2, kTileBytes = Bc * D * 2;  // K or V of one stage
    static constexpr int kStageBytes = 2 * kTileBytes;
    static constexpr int kBarriersAt = kQBytes + kStages * kStageBytes;
    static constexpr size_t kShared = size_t(kBarriersAt) + (1 + 3 * kStages) * sizeof(uint64_t);
    static constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
    static_assert(sizeof(T) == 2 && D % 64 == 0 && D <= 256, "f16 / bf16 in whole 128-byte rows, one wgmma's N");
    static_assert(kRows / kConsumers == 64, "a consumer's rows are one wgmma's M");
    static_assert(kQBytes % 1024 == 0 && kTileBytes % 1024 == 0, "every box on the swizzle's 1024-byte repeat");
    static_assert(kShared <= DK_SHARED_LIMIT_SM90, "fits sm_90's shared memory");
    static_assert(kProducerRegisters * 128 + kConsumerRegisters * 128 * kConsumers <= 65536, "the register file");
};

// Descriptors of the operands (file comment's layouts): k16 step ks of a K-major tile of `rows`
// rows, and of keys for the MN-major V tile.
template <int Rows>
__device__ __forceinline__ uint64_t sm90_k_major(const unsigned char* tile, int ks) {
    return wgmma_descriptor(tile + (ks / 4) * Rows * 128 + (ks % 4) * 32, WgmmaSwizzle::b128, 16, 1024);
}
template <int Bc>
__device__ __forceinline__ uint64_t sm90_mn_major(const unsigned char* tile, int ks) {
    return wgmma_descriptor(tile + ks * 2048, WgmmaSwizzle::b128, Bc * 128, 1024);
}

// Rows r0 .. r0 + Rows - 1 of head h, batch b of a [B, H, L, D] tensor (map: TmaTiled rank 4) into
// dst as [D / 64][Rows][64], completing on bar.
template <int D, int Rows>
__device__ __forceinline__ void sm90_load_rows(unsigned char* dst, const TensorMap& map, uint64_t* bar, int64_t r0,
                                               int64_t h, int64_t b) {
    DK_UNROLL
    for (int j = 0; j < D / 64; ++j) tma_load<4>(dst + j * Rows * 128, map, bar, {64 * j, int(r0), int(h), int(b)});
}

template <typename T, int D>
__global__ void __launch_bounds__(Sm90Fwd<T, D>::kThreads, 1)
    attention_forward_sm90_kernel(const DK_GRID_CONSTANT TensorMap qm, const DK_GRID_CONSTANT TensorMap km,
                                  const DK_GRID_CONSTANT TensorMap vm, AttentionArgs a) {
#if DK_SM90A
    using F = Sm90Fwd<T, D>;
    constexpr int Bc = F::Bc;
    DK_DYNAMIC_SHARED(unsigned char, smem);  // Q, kStages x {K, V}, barriers
    uint64_t* bars = reinterpret_cast<uint64_t*>(&smem[F::kBarriersAt]);
    uint64_t *q_full = bars, *k_full = bars + 1, *v_full = k_full + F::kStages, *empty = v_full + F::kStages;
    const int warpgroup = int(threadIdx.x) / 128, lane = int(threadIdx.x) % 32;
    if (threadIdx.x == 0) {
        mbarrier_init(q_full, 1);
        for (int s = 0; s < F::kStages; ++s) {
            mbarrier_init(&k_full[s], 1);
            mbarrier_init(&v_full[s], 1);
            mbarrier_init(&empty[s], 4 * F::kConsumers);  // one arrival per consumer warp
        }
    }
    __syncthreads();
    const FwdBlock blk = fwd_block(a, F::kRows, Bc);
    unsigned char* const q_tile = &smem[0];
    const auto stage_at = [&](int64_t step) { return &smem[F::kQBytes + int(step % F::kStages) * F::kStageBytes]; };
    if (warpgroup == 0) {  // the producer
        setmaxnreg<false, F::kProducerRegisters>();
        if (threadIdx.x < 32 && elect_one_sync() && blk.steps > 0) {
            mbarrier_arrive_expect_tx(q_full, F::kQBytes);
            sm90_load_rows<D, F::kRows>(q_tile, qm, q_full, blk.r0, blk.h, blk.b);
            for (int64_t step = 0; step < blk.steps; ++step) {
                const int s = int(step % F::kStages);
                mbarrier_wait_parity(&empty[s], unsigned(step / F::kStages + 1) & 1);  // the first pass finds it free
                mbarrier_arrive_expect_tx(&k_full[s], F::kTileBytes);
                sm90_load_rows<D, Bc>(stage_at(step), km, &k_full[s], step * Bc, blk.kvh, blk.b);
                mbarrier_arrive_expect_tx(&v_full[s], F::kTileBytes);
                sm90_load_rows<D, Bc>(stage_at(step) + F::kTileBytes, vm, &v_full[s], step * Bc, blk.kvh, blk.b);
            }
        }
        return;
    }
    setmaxnreg<true, F::kConsumerRegisters>();
    const int consumer = warpgroup - 1, warp = int(threadIdx.x) / 32 % 4, g = lane / 4;
    const int64_t wr0 = blk.r0 + 64 * consumer + 16 * warp;
    auto row = [&](int, int r) { return wr0 + 8 * r + g; };
    int64_t end[1][2];
    float m[1][2], l[1][2];
    float o[1][D / 8][4];  // wgmma's accumulator of the warp's 16 rows: o[0][i / 4][i % 4] = d[i]
    begin_rows<D, 1>(end, m, l, o, a, blk.kl, row);
    float(&od)[D / 2] = reinterpret_cast<float(&)[D / 2]>(o[0]);
    // ping-pong: consumer c issues its products after the other's (named barrier 1 + c), consumer 0 first
    const auto my_turn = [&] { named_barrier_sync(1 + consumer, 256); };
    const auto their_turn = [&] { named_barrier_arrive(2 - consumer, 256); };
    if (consumer == 1) their_turn();
    if (blk.steps > 0) mbarrier_wait_parity(q_full, 0);
    const unsigned char* q = q_tile + consumer * 64 * 128;
    float sc[1][Bc / 8][4];  // S of the newest key tile, then its P in f32
    float(&sd)[Bc / 2] = reinterpret_cast<float(&)[Bc / 2]>(sc[0]);
    uint32_t pf[Bc / 16][4];  // P of the tile before, as wgmma's A fragments
    float alpha[1][2];
    const auto parity = [&](int64_t step) { return unsigned(step / F::kStages) & 1; };
    const auto scores = [&](int64_t step) {  // issues S = Q K^T of key tile `step`
        const unsigned char* k = stage_at(step);
        mbarrier_wait_parity(&k_full[step % F::kStages], parity(step));
        wgmma_fence();
        DK_UNROLL
        for (int ks = 0; ks < D / 16; ++ks)
            wgmma_ss<T, Bc, false, false>(sd, sm90_k_major<F::kRows>(q, ks), sm90_k_major<Bc>(k, ks), ks > 0);
        wgmma_commit_group();
    };
    const auto accumulate = [&](int64_t step) {  // issues O += P V of key tile `step` (P in pf)
        const unsigned char* v = stage_at(step) + F::kTileBytes;
        mbarrier_wait_parity(&v_full[step % F::kStages], parity(step));
        wgmma_fence();
        DK_UNROLL
        for (int kk = 0; kk < Bc / 16; ++kk) wgmma_rs<T, D, true>(od, pf[kk], sm90_mn_major<Bc>(v, kk), true);
        wgmma_commit_group();
    };
    const auto softmax = [&](int64_t step, auto boundary) {  // the online softmax of S (no product in flight on it)
        softmax_tile<T, Bc, 1, decltype(boundary)::value>(sc, m, l, alpha, end, a, blk.b, blk.h, step * Bc, row,
                                                          a.scale * kLog2e, lane % 4);
    };
    const auto finish = [&] {  // the product into o is done: rescale it, and P becomes the next A
        rescale_rows<D, 1>(o, alpha);
        DK_UNROLL
        for (int kk = 0; kk < Bc / 16; ++kk) {
            pf[kk][0] = pack2_float<T>(sc[0][2 * kk][0], sc[0][2 * kk][1]);
            pf[kk][1] = pack2_float<T>(sc[0][2 * kk][2], sc[0][2 * kk][3]);
            pf[kk][2] = pack2_float<T>(sc[0][2 * kk + 1][0], sc[0][2 * kk + 1][1]);
            pf[kk][3] = pack2_float<T>(sc[0][2 * kk + 1][2], sc[0][2 * kk + 1][3]);
        }
    };
    const auto release = [&](int64_t step) {  // the warp's products reading the tile's stage are done
        __syncwarp();
        if (lane == 0) mbarrier_arrive(&empty[step % F::kStages]);
    };
    // Intra-warpgroup pipelining (FA3): S of tile j is issued with P V of tile j - 1, and the softmax
    // of tile j runs while that P V is still on the tensor cores.
    const auto iteration = [&](int64_t step, auto boundary) {
        my_turn();
        scores(step);
        accumulate(step - 1);
        their_turn();
        wgmma_wait_group<1>();  // S of this tile
        softmax(step, boundary);
        wgmma_wait_group<0>();  // P V of the tile before
        release(step - 1);
        finish();
    };
    if (blk.steps > 0) {
        my_turn();
        scores(0);
        their_turn();
        wgmma_wait_group<0>();
        if (blk.interior > 0) softmax(0, std::false_type{});
        else softmax(0, std::true_type{});
        finish();
    }
    // the tiles every row sees whole first (no key test), then the rest, each in a loop of its own
    const int64_t whole = blk.interior < blk.steps ? blk.interior : blk.steps;
    for (int64_t step = 1; step < whole; ++step) iteration(step, std::false_type{});
    for (int64_t step = whole > 1 ? whole : 1; step < blk.steps; ++step) iteration(step, std::true_type{});
    if (blk.steps > 0) {
        my_turn();
        accumulate(blk.steps - 1);
        their_turn();
        wgmma_wait_group<0>();
        release(blk.steps - 1);
    }
    if (consumer == 0) my_turn();  // consumer 1's last arrival
    store_rows<T, D, 1>(o, m, l, a, static_cast<T*>(a.out) + blk.b * a.out_rows.batch + blk.h * a.out_rows.head,
                        a.lse + blk.bh * a.lq, row, lane % 4);
#else
    __trap();  // chosen only on compute capability 9.x
#endif
}

// The rank-4 tensor map of a [B, H, L, D] view (rows: its strides) in boxes of 64 d x box_rows rows;
// false where TMA cannot address it.
template <typename T>
bool sm90_rows_map(TensorMap& map, const void* base, const RowStrides& rows, int64_t b, int64_t h, int64_t l, int64_t d,
                   int box_rows) {
    const int64_t extent[3] = {l, h, b}, stride[3] = {rows.row, rows.head, rows.batch};
    uint64_t bytes[3];
    for (int i = 0; i < 3; ++i) {
        if (extent[i] >= (int64_t(1) << 31)) return false;
        // a dim of extent 1 is never stepped along: any valid stride stands for it
        bytes[i] = extent[i] == 1 ? 16 : uint64_t(stride[i]) * sizeof(T);
        if (stride[i] <= 0 && extent[i] != 1) return false;
        if (bytes[i] % 16 != 0) return false;
    }
    if (reinterpret_cast<uintptr_t>(base) % 16 != 0) return false;
    map = make_tensor_map({4, int(sizeof(T)), base, {uint64_t(d), uint64_t(l), uint64_t(h), uint64_t(b)},
                           {bytes[0], bytes[1], bytes[2]}, {64, uint32_t(box_rows), 1, 1}, TmaSwizzle::b128});
    return true;
}

// Runs a on the Hopper kernel and returns true where it applies (compute capability 9.x, f16 / bf16,
// D = 64 / 128 / 256, at least one key, q, k, v addressable by TMA); false leaves it to the Ampere kernel.
template <typename T>
bool attention_forward_sm90(const Exec& ex, const AttentionArgs& a) {
    if constexpr (!uses_mma<T>()) {
        return false;
    } else {
        if (!runs_sm90a(ex) || (a.dim != 64 && a.dim != 128 && a.dim != 256)) return false;
        if (a.lk == 0) return false;  // no keys: a TMA map needs every extent >= 1; the Ampere kernel writes the empty rows
        bool launched = false;
        dispatch_head_dim(a.dim, [&](auto dim) {
            constexpr int D = decltype(dim)::value;
            if constexpr (D % 64 == 0) {
                using F = Sm90Fwd<T, D>;
                TensorMap qm, km, vm;
                if (!sm90_rows_map<T>(qm, a.q, a.q_rows, a.batch, a.heads, a.lq, D, F::kRows) ||
                    !sm90_rows_map<T>(km, a.k, a.k_rows, a.batch, a.kv_heads, a.lk, D, F::Bc) ||
                    !sm90_rows_map<T>(vm, a.v, a.v_rows, a.batch, a.kv_heads, a.lk, D, F::Bc))
                    return;
                const int64_t qtiles = (a.lq + F::kRows - 1) / F::kRows;
                launch(ex, "attention_forward_sm90", attention_forward_sm90_kernel<T, D>,
                       dim3(blocks(a.batch * a.heads * qtiles)), dim3(F::kThreads), F::kShared, qm, km, vm, a);
                launched = true;
            }
        });
        return launched;
    }
}

}  // namespace attention_detail
}  // namespace DK_BACKEND
}  // namespace dk
