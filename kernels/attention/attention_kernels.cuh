// attention_kernels.cuh - the kernels of scaled dot-product attention, forward and backward,
// FlashAttention-2 style, and their launches per dtype. kernels/attention/attention.cu holds the backend
// entry points and the f32 instantiation; attention_f16.cu and attention_bf16.cu instantiate the
// tensor-core dtypes, so the three compile in parallel.
//
// Math (deepkern.h): s = scale q k^T + bias, masked to each row's allowed key prefix
// (attention/attention.cuh), P = softmax(s), out = P v, logsumexp = log rowsum exp(s).
//
// Forward: a block of 4 warps owns a tile of query rows of one (batch, head), each warp 16 or 32
// of them (one or two m16 row blocks; FwdTiles), and streams the key/value tiles of its kv head
// through shared memory in two cp.async stages (the next tile lands while this one is used). Per key
// tile each warp computes its rows x Bc block of S, updates its rows' running max m and sum l
// (online softmax in base 2, f32 registers, rows spread over the 4 lanes of a quad and merged by xor
// shuffles; the key mask and the bias only on the tiles that need them) and rescales and adds P V
// into an f32 rows x D output accumulator; at the end out = O / l and logsumexp = m + log l. For
// f16 / bf16 both products are mma.m16n8k16 with f32 accumulation: Q's A fragments by ldmatrix from
// the Q tile staged in shared memory (or held in registers), K's B fragments by ldmatrix from the
// [key][d] tile, P is re-packed from the S accumulator fragments straight into A fragments (the
// m16n8 C layout of two adjacent n8 tiles is the m16k16 A layout), V's B fragments by
// ldmatrix.trans; each K and V fragment feeds the warp's row blocks. f32 runs the same kernel with
// FMA products: each lane computes exactly the accumulator elements an mma would give it (S reading
// Q from global and K from shared memory; P V through a per-warp P tile in shared memory), so the
// softmax and epilogue code is one.
// Traffic: Q, O once; K, V once per query tile (128 rows on the tensor cores up to D = 128, else
// 64); FLOPs 4 Lq Lk D per head (halved by causal).
// On compute capability 9.x the f16 / bf16 forward at D = 64, 128, 256 runs on wgmma and TMA
// instead (attention_sm90.cuh), sharing softmax_tile and store_rows with this one.
//
// Backward: a pre-pass computes delta = rowsum(dO * O) and zeroes the f32 dQ accumulator; then one
// block per (batch, kv head, key tile) keeps its K and V tile in shared memory and dK, dV in
// registers, and walks the query tiles of every query head of the GQA group that see its keys: it
// recomputes P = exp(s - logsumexp) and dS = P (dO v^T - delta), adds P^T dO to dV and scale dS^T Q
// to dK, and atomically adds scale dS K to the dQ accumulator; dK and dV need no atomics. Last, dQ
// is cast to the dtype. f16 / bf16 run it on the tensor cores (attention_backward_mma_kernel); f32
// runs an FMA version with T x T tiles (attention_backward_kernel).
// Extra memory: delta and dQ in f32, O(Lq D). FLOPs 10 Lq Lk D per head (S and dP recomputed, dV,
// dK, dQ); traffic: K, V once, Q and dO once per key tile, dQ atomics once per key tile. In
// deterministic mode (dk_set_deterministic) the key-block kernels leave dQ out, and
// attention_backward_dq_kernel computes it per query tile instead, each element one ordered sum:
// bitwise the same on every run, at 4 Lq Lk D more FLOPs per head.
#pragma once

#include <type_traits>

#include "deepkern/portable.cuh"
#include "deepkern/async_copy.cuh"
#include "attention/attention.cuh"
#include "tensor/tensor.h"
#include "deepkern/dispatch.h"
#include "deepkern/mma.cuh"
#include "deepkern/packs.cuh"

namespace dk {
namespace DK_BACKEND {

namespace attention_detail {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kWarps = 4, kThreads = 32 * kWarps, kQueryTile = 16 * kWarps;
constexpr int kSharedBudget = 44 * 1024;  // the backward's, without the opt-in
// The forward's K/V stages take up to 96 KB through the opt-in dk::launch makes: within every
// supported GPU's per-block limit, and a 64-key tile at D = 96 and 128 (32 under 48 KB), which
// halves the per-tile work (barrier, waits, the O rescale) per mma.
constexpr int kForwardSharedBudget = 96 * 1024;
static_assert(kForwardSharedBudget <= DK_SHARED_LIMIT_SM86, "the forward launches on every supported GPU");
constexpr float kLog2e = 1.4426950408889634f, kLn2 = 0.6931471805599453f;

// Shared rows of the forward's K / V tiles: D plus 16 bytes, so rows stay 16-byte aligned for
// cp.async and ldmatrix and eight consecutive rows start in different banks.
template <typename T, int D>
constexpr int fwd_ld() { return D + 16 / int(sizeof(T)); }

template <typename T>
constexpr bool uses_mma() { return !std::is_same<T, float>::value; }

// The forward's tiles. Tensor cores up to D = 128: each warp owns 32 query rows, two m16 row
// blocks, so every K and V fragment read from shared memory feeds two mma (those reads bound the
// kernel), and the block 128 rows; Q is staged once through shared memory by 16-byte copies and its
// A fragments are read by ldmatrix per key tile (held in registers they would take 64 of them, next
// to the 2 x 16 x D output accumulator). At D = 256 that accumulator leaves room for one row block,
// and the variant staging unaligned rows element by element keeps one (with two it spills at D = 128
// on sm_80): 16 rows per warp, Q's fragments loaded once from global memory and held. f32 (FMA): 16
// rows per warp, Q read from global memory. The key tile Bc is the largest of 64/32/16(/8 for f32) whose
// shared memory fits kForwardSharedBudget.
template <typename T, int D, bool Aligned>
struct FwdTiles {
    static constexpr bool kMma = uses_mma<T>();
    static constexpr int kRowBlocks = kMma && D <= 128 && Aligned ? 2 : 1, kQueryTile = 16 * kRowBlocks * kWarps;
    static constexpr bool kQHeld = kRowBlocks == 1;  // mma: Q's fragments in registers for the whole kernel
    static constexpr int kLd = fwd_ld<T, D>();
    // dynamic shared memory, in T: two stages of [K [Bc][kLd], V [Bc][kLd]]; then, not held, the Q
    // tile [kQueryTile][kLd]; f32: then the per-warp P tiles [warp][16][Bc + 1] in f32
    static constexpr int stage_elements(int keys) { return 2 * keys * kLd; }
    static constexpr int q_elements() { return kMma && !kQHeld ? kQueryTile * kLd : 0; }
    static constexpr int bytes(int keys) {
        return (2 * stage_elements(keys) + q_elements()) * int(sizeof(T)) + (kMma ? 0 : kWarps * 16 * (keys + 1) * 4);
    }
    static constexpr int key_tile() {
        // two row blocks of 64 scores next to their accumulators spill past D = 64 (ptxas: 255 registers)
        int keys = kRowBlocks == 2 && D > 64 ? 32 : 64;
        while (keys > (kMma ? 16 : 8) && bytes(keys) > kForwardSharedBudget) keys /= 2;
        return keys;
    }
    static constexpr int Bc = key_tile(), kPLd = Bc + 1;
    static constexpr int kQ = 2 * stage_elements(Bc), kP = kQ + q_elements();
    static constexpr int kSharedBytes = bytes(Bc);
    static_assert(kSharedBytes <= kForwardSharedBudget, "the forward's tiles fit its budget");
};

// The backward's query and key tile (equal): K, V, Q, dO as f32 rows of D + 1 (so lanes walking
// rows at one d hit different banks) plus P and dS.
template <int D>
constexpr int bwd_shared_floats(int tile) { return 4 * tile * (D + 1) + 2 * tile * tile + 2 * tile; }

template <int D>
constexpr int bwd_tile() {
    int tile = 32;
    while (tile > 8 && bwd_shared_floats<D>(tile) * 4 > kSharedBudget) tile /= 2;
    return tile;
}

template <typename T>
__device__ __forceinline__ uint32_t pack2(T lo, T hi) {
    uint16_t l, h;
    memcpy(&l, &lo, 2);
    memcpy(&h, &hi, 2);
    return uint32_t(l) | uint32_t(h) << 16;
}

template <typename T>
__device__ __forceinline__ uint32_t pack2_float(float lo, float hi) {
    T a, b;
    store_float(a, lo);
    store_float(b, hi);
    return pack2(a, b);
}

// The first i in [lo, hi) where pred holds, or lo when hi <= lo, hi when it holds nowhere: pred is
// false, then true, along the range.
template <class Pred>
__device__ __forceinline__ int64_t first_where(int64_t lo, int64_t hi, Pred pred) {
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (pred(mid)) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

__device__ __forceinline__ float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(kFullMask, v, 1));
    return fmaxf(v, __shfl_xor_sync(kFullMask, v, 2));
}

__device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(kFullMask, v, 1);
    return v + __shfl_xor_sync(kFullMask, v, 2);
}

// Issues the copies of rows [first, first + Rows) of src (rows of D elements, src_ld apart) into shared rows of
// Ld elements from `dst`: zeros for rows at or past `end` (past the data, or seen by no query of
// the block, so a probability of 0 never meets stale or non-finite data). Not committed. Aligned:
// every source row starts on a 16-byte boundary, so cp.async moves it; else element by element (a
// separate instantiation, so the common case carries no scalar path).
template <typename T, int D, int Ld, int Rows, bool Aligned, typename Smem>
__device__ __forceinline__ void stage_rows(const Smem& smem, int dst, const T* src, int64_t src_ld, int64_t first,
                                           int64_t end) {
    constexpr int kVec = 16 / int(sizeof(T)), kChunks = D / kVec, kSteps = (Rows * kChunks + kThreads - 1) / kThreads;
    auto copy = [&](int at, bool in, const T* from) {
        if constexpr (Aligned) {
            cp_async_zfill(&smem[at], in ? from : src, in);
        } else {
            for (int z = 0; z < kVec; ++z) {
                if (in) smem[at + z] = from[z];
                else store_float(smem[at + z], 0.0f);
            }
        }
    };
    // Not unrolled: unrolled, the compiler precomputes every step's addresses ahead of the
    // kernel's key loop and holds them in registers the MMA loop needs (spills at D >= 64).
    if constexpr (kThreads % kChunks == 0) {
        // thread tid copies chunk tid % kChunks of rows tid / kChunks + i kRowStep
        constexpr int kRowStep = kThreads / kChunks;
        const int r = threadIdx.x / kChunks, c = threadIdx.x % kChunks;
        const T* from = src + (first + r) * src_ld + c * kVec;
        DK_NO_UNROLL
        for (int i = 0; i < kSteps; ++i, from += kRowStep * src_ld) {
            if (Rows % kRowStep != 0 && r + i * kRowStep >= Rows) break;
            copy(dst + (r + i * kRowStep) * Ld + c * kVec, first + r + i * kRowStep < end, from);
        }
    } else {
        DK_NO_UNROLL
        for (int i = 0; i < kSteps; ++i) {
            const int e = threadIdx.x + i * kThreads, r = e / kChunks, c = e % kChunks;
            if (Rows * kChunks % kThreads != 0 && e >= Rows * kChunks) break;
            copy(dst + r * Ld + c * kVec, first + r < end, src + (first + r) * src_ld + c * kVec);
        }
    }
}

// Keys [k0, k0 + Bc) of K and V into stage `st` of the forward, committed as one group.
template <typename T, int D, int Bc, bool Aligned, typename Smem>
__device__ __forceinline__ void load_kv_tile(const Smem& smem, int st, const T* K, const T* V, const AttentionArgs& a,
                                             int64_t k0, int64_t kend) {
    constexpr int kLd = fwd_ld<T, D>();
    stage_rows<T, D, kLd, Bc, Aligned>(smem, st * 2 * Bc * kLd, K, a.k_rows.row, k0, kend);
    stage_rows<T, D, kLd, Bc, Aligned>(smem, (st * 2 + 1) * Bc * kLd, V, a.v_rows.row, k0, kend);
    cp_async_commit();
}

// Whether every row of a [B, H, L, D] view starts on a 16-byte boundary (cp.async's requirement).
template <typename T>
inline bool rows_aligned(const void* base, const RowStrides& r) {
    return aligned16({base}) && (r.batch | r.head | r.row) * int64_t(sizeof(T)) % 16 == 0;
}

// The pieces of a warp's work on one key tile that the forward and the deterministic dQ kernel
// share. The warp owns RB blocks of 16 query rows; in block rb this lane's are row[rb][0] = g and
// row[rb][1] = g + 8 (accumulator elements i >> 1 = 0 and 1), columns 2t, 2t + 1 of each n8 tile.

// The A fragments of rows row[0], row[1] (rows of X, ld apart; zeros past lq) for mma over D.
template <typename T, int D>
__device__ __forceinline__ void row_fragments(uint32_t (&f)[D / 16][4], const T* X, int64_t ld, const int64_t (&row)[2],
                                              int64_t lq) {
    const int t = threadIdx.x % 4;
    T zero;
    store_float(zero, 0.0f);
    DK_UNROLL
    for (int ks = 0; ks < D / 16; ++ks)
        DK_UNROLL
        for (int r = 0; r < 4; ++r) {
            const int64_t xr = row[r & 1];
            const int col = 16 * ks + 2 * t + 8 * (r >> 1);
            f[ks][r] = xr < lq ? pack2(X[xr * ld + col], X[xr * ld + col + 1]) : pack2(zero, zero);
        }
}

// Held A fragments (row_fragments') as tile_scores' source of one row block.
template <int Steps>
struct HeldFragments {
    const uint32_t (&f)[Steps][4];
    __device__ __forceinline__ void operator()(int, int ks, uint32_t (&af)[4]) const {
        DK_UNROLL
        for (int r = 0; r < 4; ++r) af[r] = f[ks][r];
    }
};

template <int Steps>
__device__ __forceinline__ HeldFragments<Steps> held(const uint32_t (&f)[Steps][4]) { return {f}; }

// s = X Y^T over D for the warp's RB row blocks by the Bc rows of a [key][d] tile Y at smem[y]
// (rows Ld apart). Mma: x(rb, ks, af) gives row block rb's A fragment of k16 step ks; Y's B
// fragments by ldmatrix (yq: this lane's row offset, keys 8 (j >> 1) + lane % 8, d 8 (j & 1) for
// matrix j = lane / 8), each feeding the RB row blocks. FMA (RB = 1): X read from global rows x0,
// x1 (null past the data), each lane computing exactly the accumulator elements an mma gives it.
template <typename T, int D, int Bc, int Ld, int RB, bool Mma, class XFragment, typename Smem>
__device__ __forceinline__ void tile_scores(float (&s)[RB][Bc / 8][4], const XFragment& x, const T* x0, const T* x1,
                                            const Smem& smem, int y, int yq) {
    DK_UNROLL
    for (int rb = 0; rb < RB; ++rb)
        DK_UNROLL
        for (int nt = 0; nt < Bc / 8; ++nt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) s[rb][nt][i] = 0.0f;
    if constexpr (Mma) {
        DK_UNROLL
        for (int ks = 0; ks < D / 16; ++ks) {
            uint32_t xf[RB][4];
            DK_UNROLL
            for (int rb = 0; rb < RB; ++rb) x(rb, ks, xf[rb]);
            DK_UNROLL
            for (int np = 0; np < Bc / 16; ++np) {
                uint32_t bf[4];
                ldmatrix<4>(bf, &smem[yq + 16 * np * Ld + 16 * ks]);
                const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
                DK_UNROLL
                for (int rb = 0; rb < RB; ++rb) {
                    mma_m16n8k16<T>(s[rb][2 * np], xf[rb], b0, s[rb][2 * np]);
                    mma_m16n8k16<T>(s[rb][2 * np + 1], xf[rb], b1, s[rb][2 * np + 1]);
                }
            }
        }
    } else {
        static_assert(RB == 1, "the FMA path owns one row block per warp");
        const int t = threadIdx.x % 4;
        for (int d = 0; d < D; ++d) {
            const float v0 = x0 ? load_float(x0[d]) : 0.0f, v1 = x1 ? load_float(x1[d]) : 0.0f;
            DK_UNROLL
            for (int nt = 0; nt < Bc / 8; ++nt) {
                const float y0 = load_float(smem[y + (8 * nt + 2 * t) * Ld + d]);
                const float y1 = load_float(smem[y + (8 * nt + 2 * t + 1) * Ld + d]);
                s[0][nt][0] = fmaf(v0, y0, s[0][nt][0]);
                s[0][nt][1] = fmaf(v0, y1, s[0][nt][1]);
                s[0][nt][2] = fmaf(v1, y0, s[0][nt][2]);
                s[0][nt][3] = fmaf(v1, y1, s[0][nt][3]);
            }
        }
    }
}

// o += p Y for the warp's RB blocks p of 16 x Bc (accumulator layout) and the [key][d] tile Y at
// smem[y]. Mma: p re-packed from accumulator into A fragments (the m16n8 C layout of two adjacent
// n8 tiles is the m16k16 A layout), Y's B fragments by ldmatrix.trans (yq: keys lane % 8 + 8 (j &
// 1), d 8 (j >> 1)), each feeding the RB row blocks. FMA (RB = 1): p through the warp's [16][Bc + 1]
// tile at smem[pt].
template <typename T, int D, int Bc, int Ld, int RB, bool Mma, typename Smem>
__device__ __forceinline__ void tile_accumulate(float (&o)[RB][D / 8][4], const float (&p)[RB][Bc / 8][4], const Smem& smem,
                                                int y, int yq, int pt) {
    if constexpr (Mma) {
        DK_UNROLL
        for (int kk = 0; kk < Bc / 16; ++kk) {
            uint32_t pf[RB][4];
            DK_UNROLL
            for (int rb = 0; rb < RB; ++rb) {
                pf[rb][0] = pack2_float<T>(p[rb][2 * kk][0], p[rb][2 * kk][1]);
                pf[rb][1] = pack2_float<T>(p[rb][2 * kk][2], p[rb][2 * kk][3]);
                pf[rb][2] = pack2_float<T>(p[rb][2 * kk + 1][0], p[rb][2 * kk + 1][1]);
                pf[rb][3] = pack2_float<T>(p[rb][2 * kk + 1][2], p[rb][2 * kk + 1][3]);
            }
            DK_UNROLL
            for (int dp = 0; dp < D / 16; ++dp) {
                uint32_t bf[4];
                ldmatrix<4, true>(bf, &smem[yq + 16 * kk * Ld + 16 * dp]);
                const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
                DK_UNROLL
                for (int rb = 0; rb < RB; ++rb) {
                    mma_m16n8k16<T>(o[rb][2 * dp], pf[rb], b0, o[rb][2 * dp]);
                    mma_m16n8k16<T>(o[rb][2 * dp + 1], pf[rb], b1, o[rb][2 * dp + 1]);
                }
            }
        }
    } else {
        static_assert(RB == 1, "the FMA path owns one row block per warp");
        constexpr int kPLd = Bc + 1;
        const int lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
        DK_UNROLL
        for (int nt = 0; nt < Bc / 8; ++nt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) store_float(smem[pt + (g + 8 * (i >> 1)) * kPLd + 8 * nt + 2 * t + (i & 1)], p[0][nt][i]);
        __syncwarp();
        for (int j = 0; j < Bc; ++j) {
            const float p0 = load_float(smem[pt + g * kPLd + j]), p1 = load_float(smem[pt + (g + 8) * kPLd + j]);
            DK_UNROLL
            for (int dt = 0; dt < D / 8; ++dt) {
                const float v0 = load_float(smem[y + j * Ld + 8 * dt + 2 * t]);
                const float v1 = load_float(smem[y + j * Ld + 8 * dt + 2 * t + 1]);
                o[0][dt][0] = fmaf(p0, v0, o[0][dt][0]);
                o[0][dt][1] = fmaf(p0, v1, o[0][dt][1]);
                o[0][dt][2] = fmaf(p1, v0, o[0][dt][2]);
                o[0][dt][3] = fmaf(p1, v1, o[0][dt][3]);
            }
        }
    }
}

// The query tile of `rows` rows a forward block owns (the grid's x over batch, head and query
// tile) and the key tiles of Bc keys it visits.
struct FwdBlock {
    int64_t bh, b, h, kvh;   // batch x heads + head, batch, query head, its kv head (GQA: heads / kv_heads share one)
    int64_t r0, kl, kend;    // first row, the sequence's key length, one past the last key any row sees
    int64_t steps, interior; // key tiles; the first `interior` seen whole by every row, with no bias
};

__device__ __forceinline__ FwdBlock fwd_block(const AttentionArgs& a, int rows, int bc) {
    FwdBlock f;
    const int64_t qtiles = (a.lq + rows - 1) / rows;
    // query tiles last to first: under a causal mask the last see the most keys, and the longest
    // blocks starting first leave the grid a short tail (the backward's key tiles already run heaviest first)
    const int64_t qt = qtiles - 1 - blockIdx.x % qtiles;
    f.bh = blockIdx.x / qtiles;
    f.b = f.bh / a.heads;
    f.h = f.bh % a.heads;
    f.kvh = f.h / (a.heads / a.kv_heads);  // within batch b (the backward's kvh counts over batches)
    f.r0 = qt * rows;
    f.kl = attention_key_length(a, f.b);
    const int64_t last = (f.r0 + rows < a.lq ? f.r0 + rows : a.lq) - 1;
    f.kend = attention_key_end(a, f.kl, last);
    f.steps = (f.kend + bc - 1) / bc;
    // row r0's end is the smallest (ends grow with the row): the tiles before it need no key test
    f.interior = a.bias ? 0 : attention_key_end(a, f.kl, f.r0) / bc;
    return f;
}

// The lane's rows' state before the first key tile: their key ends (0 past lq), m = -inf, l = 0, o = 0.
template <int D, int RB, class Row>
__device__ __forceinline__ void begin_rows(int64_t (&end)[RB][2], float (&m)[RB][2], float (&l)[RB][2],
                                           float (&o)[RB][D / 8][4], const AttentionArgs& a, int64_t kl, const Row& row) {
    DK_UNROLL
    for (int rb = 0; rb < RB; ++rb) {
        for (int r = 0; r < 2; ++r) {
            end[rb][r] = row(rb, r) < a.lq ? attention_key_end(a, kl, row(rb, r)) : 0;
            m[rb][r] = -INFINITY;
            l[rb][r] = 0.0f;
        }
        DK_UNROLL
        for (int dt = 0; dt < D / 8; ++dt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) o[rb][dt][i] = 0.0f;
    }
}

// One key tile's online softmax for the warp's RB row blocks of 16 rows (the forward kernels'
// shared step): the scores s of keys k0 .. k0 + Bc - 1 (accumulator layout) scaled to base 2 (s
// log2 e, so exp is one ex2) and, on Boundary tiles, biased and masked past each row's key end;
// the rows' running max m and sum l updated (the row's 4 lanes agree on m after quad_max); s
// turned into exp2(s - m); alpha = exp2(m_old - m), the factor the output accumulator takes
// (rescale_rows: at once, or once an asynchronous product still adding into it is done).
// row(rb, r): the lane's query rows; scale_log2 = scale log2 e; t = lane % 4.
template <typename T, int Bc, int RB, bool kBoundary, class Row>
__device__ __forceinline__ void softmax_tile(float (&s)[RB][Bc / 8][4], float (&m)[RB][2], float (&l)[RB][2],
                                             float (&alpha)[RB][2], const int64_t (&end)[RB][2], const AttentionArgs& a,
                                             int64_t b, int64_t h, int64_t k0, const Row& row, float scale_log2, int t) {
    DK_UNROLL
    for (int rb = 0; rb < RB; ++rb) {
        float mx[2] = {m[rb][0], m[rb][1]};
        if constexpr (!kBoundary) {
            DK_UNROLL
            for (int nt = 0; nt < Bc / 8; ++nt)
                DK_UNROLL
                for (int i = 0; i < 4; ++i) {
                    s[rb][nt][i] *= scale_log2;
                    mx[i >> 1] = fmaxf(mx[i >> 1], s[rb][nt][i]);
                }
        } else {
            DK_UNROLL
            for (int nt = 0; nt < Bc / 8; ++nt)
                DK_UNROLL
                for (int i = 0; i < 4; ++i) {
                    const int r = i >> 1;
                    const int64_t key = k0 + 8 * nt + 2 * t + (i & 1);
                    s[rb][nt][i] = key < end[rb][r] ? (a.scale * s[rb][nt][i] +
                                                       attention_bias<T>(a, b, h, row(rb, r), key)) * kLog2e
                                                    : -INFINITY;
                    mx[r] = fmaxf(mx[r], s[rb][nt][i]);
                }
        }
        // exp2(s - mu): with mu = 0 for a row with no key yet (m = -inf), masked entries give 0
        float mu[2];
        for (int r = 0; r < 2; ++r) {
            mx[r] = quad_max(mx[r]);
            mu[r] = mx[r] == -INFINITY ? 0.0f : mx[r];
            alpha[rb][r] = exp2f(m[rb][r] - mu[r]);  // m = -inf at first: 0
            m[rb][r] = mx[r];
            l[rb][r] *= alpha[rb][r];
        }
        DK_UNROLL
        for (int nt = 0; nt < Bc / 8; ++nt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) {
                s[rb][nt][i] = exp2f(s[rb][nt][i] - mu[i >> 1]);
                l[rb][i >> 1] += s[rb][nt][i];  // this lane's share of the row sum; the quad adds up at the end
            }
    }
}

// o's rows times softmax_tile's factors.
template <int D, int RB>
__device__ __forceinline__ void rescale_rows(float (&o)[RB][D / 8][4], const float (&alpha)[RB][2]) {
    DK_UNROLL
    for (int rb = 0; rb < RB; ++rb)
        DK_UNROLL
        for (int dt = 0; dt < D / 8; ++dt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) o[rb][dt][i] *= alpha[rb][i >> 1];
}

// out = o / l and logsumexp = m + log l for the lane's rows (row(rb, r); those past lq skipped), l's
// quad shares summed first: out is the (batch, head)'s first row, lse its first logsumexp; t = lane % 4.
template <typename T, int D, int RB, class Row>
__device__ __forceinline__ void store_rows(const float (&o)[RB][D / 8][4], const float (&m)[RB][2], const float (&l)[RB][2],
                                           const AttentionArgs& a, T* out, float* lse, const Row& row, int t) {
    DK_UNROLL
    for (int rb = 0; rb < RB; ++rb)
        for (int r = 0; r < 2; ++r) {
            const float sum = quad_sum(l[rb][r]);
            if (row(rb, r) >= a.lq) continue;
            const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
            T* orow = out + row(rb, r) * a.out_rows.row;
            DK_UNROLL
            for (int dt = 0; dt < D / 8; ++dt) {
                store_float(orow[8 * dt + 2 * t], o[rb][dt][2 * r] * inv);
                store_float(orow[8 * dt + 2 * t + 1], o[rb][dt][2 * r + 1] * inv);
            }
            if (t == 0) lse[row(rb, r)] = sum > 0.0f ? (m[rb][r] + log2f(sum)) * kLn2 : -INFINITY;
        }
}

// (minimum 1 block per SM: without it ptxas held the D = 32 instantiation to 128 registers and spilled)
template <typename T, int D, bool Aligned>
__global__ void __launch_bounds__(kThreads, 1) attention_forward_kernel(AttentionArgs a) {
    using Tiles = FwdTiles<T, D, Aligned>;
    constexpr int RB = Tiles::kRowBlocks, kRows = Tiles::kQueryTile, Bc = Tiles::Bc, kLd = Tiles::kLd;
    constexpr bool kMma = Tiles::kMma;
    DK_DYNAMIC_SHARED(T, smem);  // see FwdTiles
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, g = lane >> 2, t = lane & 3;
    const FwdBlock blk = fwd_block(a, kRows, Bc);
    const int64_t b = blk.b, h = blk.h, r0 = blk.r0, kend = blk.kend, steps = blk.steps, interior = blk.interior;
    const int64_t wr0 = r0 + 16 * RB * warp, qld = a.q_rows.row;
    const float scale_log2 = a.scale * kLog2e;
    const T* Q = static_cast<const T*>(a.q) + b * a.q_rows.batch + h * a.q_rows.head;
    const T* K = static_cast<const T*>(a.k) + b * a.k_rows.batch + blk.kvh * a.k_rows.head;
    const T* V = static_cast<const T*>(a.v) + b * a.v_rows.batch + blk.kvh * a.v_rows.head;

    // this lane's rows: row(rb, r) = wr0 + 16 rb + 8 r + g (fragment elements i >> 1 = r), and their key ends
    auto row = [&](int rb, int r) { return wr0 + 16 * rb + 8 * r + g; };
    int64_t end[RB][2];
    float m[RB][2], l[RB][2];
    float o[RB][D / 8][4];
    begin_rows<D, RB>(end, m, l, o, a, blk.kl, row);

    // Q on the tensor cores: staged (zero rows past lq) with the first K / V tile, its fragments
    // read per key tile; or held, loaded once from global memory.
    uint32_t qf[Tiles::kQHeld && kMma ? D / 16 : 1][4];
    if constexpr (kMma && Tiles::kQHeld) {
        const int64_t rows[2] = {row(0, 0), row(0, 1)};
        row_fragments<T, D>(qf, Q, qld, rows, a.lq);
    } else if constexpr (kMma) {
        stage_rows<T, D, kLd, kRows, Aligned>(smem, Tiles::kQ, Q, qld, r0, a.lq);
    }
    auto q_fragment = [&](int rb, int ks, uint32_t (&af)[4]) {
        if constexpr (Tiles::kQHeld) held(qf)(rb, ks, af);
        else mma_a_fragment<T, false>(af, smem, Tiles::kQ, kLd, 16 * RB * warp + 16 * rb, 16 * ks);
    };
    const T* q0 = row(0, 0) < a.lq ? Q + row(0, 0) * qld : nullptr;  // the FMA path's rows
    const T* q1 = row(0, 1) < a.lq ? Q + row(0, 1) * qld : nullptr;

    // One key tile; Boundary: the tiles crossing a row's key end, or all of them with a bias.
    auto tile = [&](int64_t step, auto boundary) {
        constexpr bool kBoundary = decltype(boundary)::value;
        const int st = int(step & 1);
        const int64_t k0 = step * Bc;
        if (step + 1 < steps) {
            load_kv_tile<T, D, Bc, Aligned>(smem, st ^ 1, K, V, a, k0 + Bc, kend);
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int ks_base = st * 2 * Bc * kLd, vs_base = ks_base + Bc * kLd;
        // this lane's ldmatrix row in the stage, for matrix j = lane / 8: K keys 8 (j >> 1) + lane % 8,
        // d 8 (j & 1); V (transposed) keys lane % 8 + 8 (j & 1), d 8 (j >> 1)
        const int kq = ks_base + (8 * (lane / 16) + lane % 8) * kLd + 8 * ((lane / 8) & 1);
        const int vq = vs_base + (lane % 8 + 8 * ((lane / 8) & 1)) * kLd + 8 * (lane / 16);

        float s[RB][Bc / 8][4];
        tile_scores<T, D, Bc, kLd, RB, kMma>(s, q_fragment, q0, q1, smem, ks_base, kq);

        float alpha[RB][2];
        softmax_tile<T, Bc, RB, kBoundary>(s, m, l, alpha, end, a, b, h, k0, row, scale_log2, t);
        rescale_rows<D, RB>(o, alpha);

        tile_accumulate<T, D, Bc, kLd, RB, kMma>(o, s, smem, vs_base, vq, Tiles::kP + warp * 16 * Tiles::kPLd);
        __syncthreads();  // this stage is refilled two steps on
    };
    if (steps > 0) load_kv_tile<T, D, Bc, Aligned>(smem, 0, K, V, a, 0, kend);  // (with Q's copies, staged)
    for (int64_t step = 0; step < interior; ++step) tile(step, std::false_type{});
    for (int64_t step = interior; step < steps; ++step) tile(step, std::true_type{});
    if constexpr (kMma && !Tiles::kQHeld)
        if (steps == 0) {  // a block with no key tile still has Q's copies in flight
            cp_async_commit();
            cp_async_wait<0>();
        }

    store_rows<T, D, RB>(o, m, l, a, static_cast<T*>(a.out) + b * a.out_rows.batch + h * a.out_rows.head,
                         a.lse + blk.bh * a.lq, row, t);
}

// The deterministic dQ (AttentionArgs::deterministic): a block of 4 warps per 64-row query tile of
// one (batch, head), as the forward, streams K and V tiles through shared memory in key order and
// recomputes S = Q K^T and dP = dO V^T for its rows, P = exp(scale S + bias - logsumexp), dS =
// scale P (dP - delta), and dQ += dS K in f32 registers; each dQ element is one sum in a fixed
// order, written once in the dtype, no atomics. The key-block kernels then skip their dQ part.
// Mma (f16 / bf16, D <= 128): S and dP from Q's and dO's A fragments held in registers and K's and
// V's B fragments by ldmatrix; dS re-packed as A fragments; K's B fragments by ldmatrix.trans. FMA
// otherwise, as the forward's f32 path. Key tiles of 32: Q, dO, dQ and two score tiles in registers.
// FLOPs 6 Lq Lk D per head (4 of them recomputed); traffic: K, V once per query tile.
template <typename T, int D>
constexpr bool dq_uses_mma() { return uses_mma<T>() && D <= 128; }

template <typename T, int D>
constexpr int dq_key_tile() { return FwdTiles<T, D, true>::Bc < 32 ? FwdTiles<T, D, true>::Bc : 32; }

template <typename T, int D>
constexpr int dq_shared_bytes() {
    constexpr int keys = dq_key_tile<T, D>();
    const int stages = 2 * 2 * keys * fwd_ld<T, D>() * int(sizeof(T));
    return dq_uses_mma<T, D>() ? stages : stages + kWarps * 16 * (keys + 1) * int(sizeof(T));  // FMA: dS tiles
}

template <typename T, int D, bool Aligned>
__global__ void __launch_bounds__(kThreads, 1) attention_backward_dq_kernel(AttentionArgs a) {
    constexpr int Bc = dq_key_tile<T, D>(), kLd = fwd_ld<T, D>();
    constexpr bool kMma = dq_uses_mma<T, D>();
    DK_DYNAMIC_SHARED(T, smem);  // two stages of [K tile Bc x kLd, V tile Bc x kLd]; FMA: then dS [warp][16][Bc + 1]
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, g = lane >> 2, t = lane & 3;
    const int64_t qtiles = (a.lq + kQueryTile - 1) / kQueryTile;
    const int64_t qt = qtiles - 1 - blockIdx.x % qtiles, bh = blockIdx.x / qtiles, b = bh / a.heads, h = bh % a.heads;
    const int64_t kvh = b * a.kv_heads + h / (a.heads / a.kv_heads);
    const int64_t r0 = qt * kQueryTile, wr0 = r0 + 16 * warp;
    const int64_t kl = attention_key_length(a, b);
    const int64_t kend = attention_key_end(a, kl, (r0 + kQueryTile < a.lq ? r0 + kQueryTile : a.lq) - 1);
    const int64_t steps = (kend + Bc - 1) / Bc;
    const int64_t interior = a.bias ? 0 : attention_key_end(a, kl, r0) / Bc;
    const float scale_log2 = a.scale * kLog2e;
    const T* Q = static_cast<const T*>(a.q) + bh * a.lq * D;  // the backward's operands are compact
    const T* G = static_cast<const T*>(a.grad_out) + bh * a.lq * D;
    const T* K = static_cast<const T*>(a.k) + kvh * a.lk * D;
    const T* V = static_cast<const T*>(a.v) + kvh * a.lk * D;

    // this lane's rows, their key ends, logsumexp in base 2 (+inf past the data: P = 0) and delta
    int64_t row[2], end[2];
    float lse2[2], delta[2];
    for (int r = 0; r < 2; ++r) {
        row[r] = wr0 + g + 8 * r;
        const bool in = row[r] < a.lq;
        end[r] = in ? attention_key_end(a, kl, row[r]) : 0;
        lse2[r] = in ? a.lse[bh * a.lq + row[r]] * kLog2e : INFINITY;
        delta[r] = in ? a.delta[bh * a.lq + row[r]] : 0.0f;
    }
    uint32_t qf[kMma ? D / 16 : 1][4], gf[kMma ? D / 16 : 1][4];
    if constexpr (kMma) {
        row_fragments<T, D>(qf, Q, D, row, a.lq);
        row_fragments<T, D>(gf, G, D, row, a.lq);
    }
    const T* q0 = row[0] < a.lq ? Q + row[0] * D : nullptr;  // the FMA path's rows
    const T* q1 = row[1] < a.lq ? Q + row[1] * D : nullptr;
    const T* g0 = row[0] < a.lq ? G + row[0] * D : nullptr;
    const T* g1 = row[1] < a.lq ? G + row[1] * D : nullptr;
    float dq[1][D / 8][4];
    DK_UNROLL
    for (int dt = 0; dt < D / 8; ++dt)
        DK_UNROLL
        for (int i = 0; i < 4; ++i) dq[0][dt][i] = 0.0f;

    auto tile = [&](int64_t step, auto boundary) {
        constexpr bool kBoundary = decltype(boundary)::value;
        const int st = int(step & 1);
        const int64_t k0 = step * Bc;
        if (step + 1 < steps) {
            stage_rows<T, D, kLd, Bc, Aligned>(smem, (st ^ 1) * 2 * Bc * kLd, K, D, k0 + Bc, kend);
            stage_rows<T, D, kLd, Bc, Aligned>(smem, ((st ^ 1) * 2 + 1) * Bc * kLd, V, D, k0 + Bc, kend);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int ks_base = st * 2 * Bc * kLd, vs_base = ks_base + Bc * kLd;
        const int rows_at = (8 * (lane / 16) + lane % 8) * kLd + 8 * ((lane / 8) & 1);  // ldmatrix, as B
        const int cols_at = (lane % 8 + 8 * ((lane / 8) & 1)) * kLd + 8 * (lane / 16);  // ldmatrix.trans
        float s[1][Bc / 8][4], dp[1][Bc / 8][4];  // one row block
        tile_scores<T, D, Bc, kLd, 1, kMma>(s, held(qf), q0, q1, smem, ks_base, ks_base + rows_at);
        tile_scores<T, D, Bc, kLd, 1, kMma>(dp, held(gf), g0, g1, smem, vs_base, vs_base + rows_at);
        DK_UNROLL
        for (int nt = 0; nt < Bc / 8; ++nt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) {
                const int r = i >> 1;
                float p;
                if constexpr (!kBoundary) {
                    p = exp2f(fmaf(s[0][nt][i], scale_log2, -lse2[r]));
                } else {
                    const int64_t key = k0 + 8 * nt + 2 * t + (i & 1);
                    p = 0.0f;
                    if (key < end[r] && lse2[r] != -INFINITY) {
                        const float sv = a.scale * s[0][nt][i] + attention_bias<T>(a, b, h, row[r], key);
                        p = sv == -INFINITY ? 0.0f : exp2f(sv * kLog2e - lse2[r]);
                    }
                }
                dp[0][nt][i] = a.scale * p * (dp[0][nt][i] - delta[r]);
            }
        tile_accumulate<T, D, Bc, kLd, 1, kMma>(dq, dp, smem, ks_base, ks_base + cols_at, 2 * 2 * Bc * kLd + warp * 16 * (Bc + 1));
        __syncthreads();  // this stage is refilled two steps on
    };
    if (steps > 0) {
        stage_rows<T, D, kLd, Bc, Aligned>(smem, 0, K, D, 0, kend);
        stage_rows<T, D, kLd, Bc, Aligned>(smem, Bc * kLd, V, D, 0, kend);
        cp_async_commit();
    }
    for (int64_t step = 0; step < interior; ++step) tile(step, std::false_type{});
    for (int64_t step = interior; step < steps; ++step) tile(step, std::true_type{});

    T* gq = static_cast<T*>(a.grad_q) + bh * a.lq * D;
    for (int r = 0; r < 2; ++r) {
        if (row[r] >= a.lq) continue;
        DK_UNROLL
        for (int dt = 0; dt < D / 8; ++dt) {
            store_float(gq[row[r] * D + 8 * dt + 2 * t], dq[0][dt][2 * r]);
            store_float(gq[row[r] * D + 8 * dt + 2 * t + 1], dq[0][dt][2 * r + 1]);
        }
    }
}

// delta[r] = sum_d dO[r, d] O[r, d] and a zeroed dQ accumulator row (where there is one): one warp per row.
template <typename T>
__global__ void attention_delta_kernel(AttentionArgs a) {
    const int lane = threadIdx.x % 32;
    const int64_t rows = a.batch * a.heads * a.lq, step = int64_t(gridDim.x) * kWarps;
    for (int64_t r = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32; r < rows; r += step) {
        const T* o = static_cast<const T*>(a.out) + r * a.dim;
        const T* g = static_cast<const T*>(a.grad_out) + r * a.dim;
        float acc = 0.0f;
        for (int64_t d = lane; d < a.dim; d += 32) {
            acc = fmaf(load_float(o[d]), load_float(g[d]), acc);
            if (a.dq_accum) a.dq_accum[r * a.dim + d] = 0.0f;
        }
        for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(kFullMask, acc, off);
        if (lane == 0) a.delta[r] = acc;
    }
}

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) attention_backward_kernel(AttentionArgs a) {
    constexpr int Bt = bwd_tile<D>(), kLd = D + 1, kOwn = Bt * D / kThreads;
    static_assert(Bt * D % kThreads == 0, "every thread owns the same number of dK / dV elements");
    // K, V, Q, dO [Bt][kLd], P, dS [Bt][Bt], logsumexp and delta [Bt]: bwd_shared_floats<D>(Bt)
    DK_DYNAMIC_SHARED(float, sm);
    constexpr int kK = 0, kV = Bt * kLd, kQ = 2 * Bt * kLd, kG = 3 * Bt * kLd, kP = 4 * Bt * kLd, kDs = kP + Bt * Bt,
                  kLse = kDs + Bt * Bt, kDelta = kLse + Bt;
    const int tid = threadIdx.x;
    const int64_t ktiles = (a.lk + Bt - 1) / Bt, group = a.heads / a.kv_heads;
    const int64_t kt = blockIdx.x % ktiles, kvh = blockIdx.x / ktiles, b = kvh / a.kv_heads;
    const int64_t k0 = kt * Bt, kl = attention_key_length(a, b);
    const T* K = static_cast<const T*>(a.k) + kvh * a.lk * D;
    const T* V = static_cast<const T*>(a.v) + kvh * a.lk * D;
    for (int e = tid; e < Bt * D; e += kThreads) {
        const int j = e / D, d = e % D;
        const bool in = k0 + j < kl;
        sm[kK + j * kLd + d] = in ? load_float(K[(k0 + j) * D + d]) : 0.0f;
        sm[kV + j * kLd + d] = in ? load_float(V[(k0 + j) * D + d]) : 0.0f;
    }
    float dk[kOwn], dv[kOwn];
    DK_UNROLL
    for (int c = 0; c < kOwn; ++c) dk[c] = dv[c] = 0.0f;
    const int64_t qtiles = (a.lq + Bt - 1) / Bt;
    for (int64_t h = (kvh % a.kv_heads) * group; h < (kvh % a.kv_heads + 1) * group && k0 < kl; ++h) {
        const int64_t bh = b * a.heads + h;
        const T* Q = static_cast<const T*>(a.q) + bh * a.lq * D;
        const T* G = static_cast<const T*>(a.grad_out) + bh * a.lq * D;
        for (int64_t qt = 0; qt < qtiles; ++qt) {
            const int64_t r0 = qt * Bt, rows = a.lq - r0 < Bt ? a.lq - r0 : Bt;
            if (attention_key_end(a, kl, r0 + rows - 1) <= k0) continue;  // no row of the tile sees these keys
            __syncthreads();  // the previous tile's readers are done
            for (int e = tid; e < Bt * D; e += kThreads) {
                const int i = e / D, d = e % D;
                const bool in = i < rows;
                sm[kQ + i * kLd + d] = in ? load_float(Q[(r0 + i) * D + d]) : 0.0f;
                sm[kG + i * kLd + d] = in ? load_float(G[(r0 + i) * D + d]) : 0.0f;
            }
            for (int i = tid; i < Bt; i += kThreads) {
                sm[kLse + i] = i < rows ? a.lse[bh * a.lq + r0 + i] : -INFINITY;
                sm[kDelta + i] = i < rows ? a.delta[bh * a.lq + r0 + i] : 0.0f;
            }
            __syncthreads();
            for (int e = tid; e < Bt * Bt; e += kThreads) {
                const int i = e / Bt, j = e % Bt;
                float p = 0.0f, ds = 0.0f;
                if (i < rows && k0 + j < attention_key_end(a, kl, r0 + i) && sm[kLse + i] != -INFINITY) {
                    float sv = 0.0f, dp = 0.0f;
                    for (int d = 0; d < D; ++d) {
                        sv = fmaf(sm[kQ + i * kLd + d], sm[kK + j * kLd + d], sv);
                        dp = fmaf(sm[kG + i * kLd + d], sm[kV + j * kLd + d], dp);
                    }
                    sv = a.scale * sv + attention_bias<T>(a, b, h, r0 + i, k0 + j);
                    p = sv == -INFINITY ? 0.0f : expf(sv - sm[kLse + i]);
                    ds = a.scale * p * (dp - sm[kDelta + i]);
                }
                sm[kP + e] = p;
                sm[kDs + e] = ds;
            }
            __syncthreads();
            DK_UNROLL
            for (int c = 0; c < kOwn; ++c) {
                const int e = tid + c * kThreads, j = e / D, d = e % D;
                float av = dv[c], ak = dk[c];
                for (int i = 0; i < rows; ++i) {
                    av = fmaf(sm[kP + i * Bt + j], sm[kG + i * kLd + d], av);
                    ak = fmaf(sm[kDs + i * Bt + j], sm[kQ + i * kLd + d], ak);
                }
                dv[c] = av;
                dk[c] = ak;
            }
            for (int e = tid; e < rows * D && a.dq_accum; e += kThreads) {  // null: the dQ kernel's
                const int i = e / D, d = e % D;
                float acc = 0.0f;
                for (int j = 0; j < Bt; ++j) acc = fmaf(sm[kDs + i * Bt + j], sm[kK + j * kLd + d], acc);
                atomicAdd(&a.dq_accum[(bh * a.lq + r0 + i) * D + d], acc);
            }
        }
    }
    T* gk = static_cast<T*>(a.grad_k) + kvh * a.lk * D;
    T* gv = static_cast<T*>(a.grad_v) + kvh * a.lk * D;
    DK_UNROLL
    for (int c = 0; c < kOwn; ++c) {
        const int e = tid + c * kThreads, j = e / D, d = e % D;
        if (k0 + j >= a.lk) continue;
        store_float(gk[(k0 + j) * D + d], dk[c]);
        store_float(gv[(k0 + j) * D + d], dv[c]);
    }
}

// The tensor-core backward for f16 / bf16. One block of 4 warps per (batch, kv head, tile of keys),
// each warp owning 16 keys and a slice of the head dim: all of it up to D = 128 (64 keys per block),
// half of it at D = 256 (32 keys; two warps per 16 keys), so that the per-warp dK and dV
// accumulators, 16 x slice f32 each, stay within 128 registers. K and V stay in shared memory; per tile of
// query rows (Q, dO staged by cp.async into one of two buffers while the tile before is multiplied
// from the other) each warp computes the transposed scores S^T = K Q^T and dP^T = V dO^T with keys
// as mma rows (over its slice of d; the two warps of a split add their partial sums through shared
// memory), so P^T and dS^T come out in accumulator fragments that are
// re-packed as A fragments of dV += P^T dO and dK += dS^T Q (dO and Q through ldmatrix.trans) with
// no transpose through memory. dQ = dS K needs dS with queries as rows: dS^T goes to shared memory
// in the dtype and comes back as A fragments by ldmatrix.trans; each warp takes a quarter of the
// head dim and adds its rows x D/4 block to the f32 dQ accumulator atomically, a pair of adjacent
// columns per reduction (atomic_add2: red.global.add.v2.f32 on sm_90).
template <typename T, int D, bool Aligned>
struct BwdMmaTiles {
    static constexpr int kSplit = D > 128 ? 2 : 1;  // warps per 16 keys, each a slice of d
    static constexpr int kSlice = D / kSplit, Bc = 16 * kWarps / kSplit;
    // Query tile: 32 rows (two k16 steps of dV and dK) halve the K and V fragment reads per mma of
    // 16 rows, the shared-memory traffic that bounds the kernel, for 16 more accumulator registers;
    // the variant staging unaligned rows element by element keeps 16 (at 32 it spills at D = 128 on
    // sm_80), and so does D = 256 (32 would pass the 99 KB of sm_86).
    static constexpr int Bq = Aligned && kSplit == 1 ? 32 : 16, kQSteps = Bq / 16;
    static constexpr int kLd = fwd_ld<T, D>(), kDsLd = Bq + 8;
    // dynamic shared memory, in T: K, V [Bc][kLd]; two buffers u of {Q, dO [Bq][kLd]} (Q at kQ + u
    // kQBuf, dO Bq kLd after it); dS^T [Bc][kDsLd]; past 48 KB, opted in
    static constexpr int kK = 0, kV = Bc * kLd, kQ = 2 * Bc * kLd, kQBuf = 2 * Bq * kLd, kDs = kQ + 2 * kQBuf;
    static constexpr int kSharedBytes = (kDs + Bc * kDsLd) * int(sizeof(T));
    // static: a split warp's S^T and dP^T sums for its partner (a one-element stub unsplit)
    static constexpr int kPartialWarps = kSplit > 1 ? kWarps : 1, kPartialValues = kSplit > 1 ? Bq : 1;
    static_assert(kSlice % 16 == 0 && D % 32 == 0, "whole k16 steps of the slice; a quarter of d (dQ) is whole n8 tiles");
    static_assert(kDsLd * int(sizeof(T)) % 16 == 0 && kDsLd * int(sizeof(T)) / 16 % 2 == 1,
                  "dS^T rows 16-byte aligned for ldmatrix, an odd number of 16-byte units apart (no bank conflicts)");
    static_assert(kSharedBytes <= DK_SHARED_LIMIT_SM86, "the backward launches on every supported GPU");
};

template <typename T, int D, bool Aligned>
__global__ void __launch_bounds__(kThreads, 1) attention_backward_mma_kernel(AttentionArgs a) {  // (1: as the forward's)
    using Tiles = BwdMmaTiles<T, D, Aligned>;
    constexpr int kSplit = Tiles::kSplit, kSlice = Tiles::kSlice, Bc = Tiles::Bc, Bq = Tiles::Bq, kQSteps = Tiles::kQSteps;
    constexpr int kLd = Tiles::kLd, kDsLd = Tiles::kDsLd, kK = Tiles::kK, kV = Tiles::kV, kQ = Tiles::kQ,
                  kQBuf = Tiles::kQBuf, kDs = Tiles::kDs, kCols = D / 4 / 8;
    DK_DYNAMIC_SHARED(T, smem);  // see BwdMmaTiles
    DK_SHARED(float, lses, [2][Bq]);  // logsumexp in base 2, per buffer
    DK_SHARED(float, deltas, [2][Bq]);
    DK_SHARED(float, partials, [Tiles::kPartialWarps][Tiles::kPartialValues][32]);  // [warp][value][lane]
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, g = lane >> 2, t = lane & 3;
    // the warp's 16 keys (key group) and slice of d; its split partner has the same keys, the other
    // slice (unsplit spelled out: the compiler cannot see warp < 4, and the extra index spills at sm_80)
    const int kgroup = kSplit == 1 ? warp : warp % (kWarps / kSplit), slice = kSplit == 1 ? 0 : warp / (kWarps / kSplit);
    const int d0 = slice * kSlice;
    const int64_t ktiles = (a.lk + Bc - 1) / Bc, group = a.heads / a.kv_heads;
    const int64_t kt = blockIdx.x % ktiles, kvh = blockIdx.x / ktiles, b = kvh / a.kv_heads;
    const int64_t k0 = kt * Bc, kl = attention_key_length(a, b), wk = k0 + 16 * kgroup;
    const float scale_log2 = a.scale * kLog2e;
    stage_rows<T, D, kLd, Bc, Aligned>(smem, kK, static_cast<const T*>(a.k) + kvh * a.lk * D, D, k0, kl);
    stage_rows<T, D, kLd, Bc, Aligned>(smem, kV, static_cast<const T*>(a.v) + kvh * a.lk * D, D, k0, kl);
    cp_async_commit();
    // The warp's K and V A fragments (its 16 keys, d d0 + 16 ks ..) for S^T and dP^T: loaded once
    // and kept in registers while they fit (a slice <= 64: 32 registers), else from shared memory per tile.
    constexpr bool kKvInRegisters = kSlice <= 64;
    uint32_t kfs[kKvInRegisters ? kSlice / 16 : 1][4], vfs[kKvInRegisters ? kSlice / 16 : 1][4];
    const int kv_at = (16 * kgroup + lane % 16) * kLd + 8 * (lane / 16) + d0;
    auto kv_fragments = [&](int ks, int at, uint32_t (&kf)[4], uint32_t (&vf)[4]) {
        if constexpr (kKvInRegisters) {
            DK_UNROLL
            for (int r = 0; r < 4; ++r) kf[r] = kfs[ks][r], vf[r] = vfs[ks][r];
        } else {
            ldmatrix<4>(kf, &smem[kK + at + 16 * ks]);
            ldmatrix<4>(vf, &smem[kV + at + 16 * ks]);
        }
    };
    if constexpr (kKvInRegisters) {
        cp_async_wait<0>();
        __syncthreads();
        DK_UNROLL
        for (int ks = 0; ks < kSlice / 16; ++ks) {
            ldmatrix<4>(kfs[ks], &smem[kK + kv_at + 16 * ks]);
            ldmatrix<4>(vfs[ks], &smem[kV + kv_at + 16 * ks]);
        }
    }
    float dk[kSlice / 8][4], dv[kSlice / 8][4];  // keys wk + g (+8), d d0 + 8 dt + 2t (+1)
    DK_UNROLL
    for (int dt = 0; dt < kSlice / 8; ++dt)
        DK_UNROLL
        for (int i = 0; i < 4; ++i) dk[dt][i] = dv[dt][i] = 0.0f;
    // Key ends grow with the row, so the query tiles split in three runs, found by binary search:
    // [0, q0) no row of which sees these keys (skipped); [qa, qb) interior: whole, every row sees
    // all the block's keys (row r0's end is the tile's smallest), no bias; the rest (the causal
    // diagonal, a partial last tile, padding) pay the per-element key test and bias load.
    const int64_t qtiles = (a.lq + Bq - 1) / Bq, qfull = a.lq / Bq;
    const int64_t q0 = first_where(0, qtiles, [&](int64_t qt) {
        return attention_key_end(a, kl, ((qt + 1) * Bq < a.lq ? (qt + 1) * Bq : a.lq) - 1) > k0;
    });
    const int64_t qa = first_where(q0, a.bias ? q0 : qfull, [&](int64_t qt) {
        return attention_key_end(a, kl, qt * Bq) >= k0 + Bc;
    });
    const int64_t qb = a.bias || qfull < qa ? qa : qfull;
    const int64_t h0 = (kvh % a.kv_heads) * group, h_end = k0 < kl ? h0 + group : h0;
    // Q, dO, logsumexp and delta of tile (h, qt) into buffer u, committed as one group; the tile
    // after this one's copies are in flight while it is multiplied (two buffers).
    auto prefetch = [&](int64_t h, int64_t qt, int u) {
        const int64_t bh = b * a.heads + h, r0 = qt * Bq, rows = a.lq - r0 < Bq ? a.lq - r0 : Bq;
        stage_rows<T, D, kLd, Bq, Aligned>(smem, kQ + u * kQBuf, static_cast<const T*>(a.q) + bh * a.lq * D, D, r0, a.lq);
        stage_rows<T, D, kLd, Bq, Aligned>(smem, kQ + u * kQBuf + Bq * kLd, static_cast<const T*>(a.grad_out) + bh * a.lq * D,
                                           D, r0, a.lq);
        cp_async_commit();
        if (tid < Bq) {
            lses[u][tid] = tid < rows ? a.lse[bh * a.lq + r0 + tid] * kLog2e : -INFINITY;
            deltas[u][tid] = tid < rows ? a.delta[bh * a.lq + r0 + tid] : 0.0f;
        }
    };
    int u = 0;  // the buffer of the tile being multiplied
    // One tile of Bq query rows of head h; the tiles go q0 .. qtiles - 1 for each head in turn.
    auto tile = [&](int64_t h, int64_t qt, auto boundary) {
        constexpr bool kBoundary = decltype(boundary)::value;
        const int64_t bh = b * a.heads + h;
        const int64_t r0 = qt * Bq;
        __syncthreads();  // the previous tile's readers are done with the other buffer and dS^T
        const bool last_of_head = qt + 1 == qtiles;
        if (!last_of_head || h + 1 < h_end) {
            prefetch(last_of_head ? h + 1 : h, last_of_head ? q0 : qt + 1, u ^ 1);
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int kQu = kQ + u * kQBuf, kGu = kQu + Bq * kLd;
        // This lane's ldmatrix rows, opaque per tile (see opaque()): matrix j = lane / 8 of an x4
        // load covers rows 8 (j >> 1) + lane % 8, columns 8 (j & 1) (`rows`), or, as the transposed
        // B operand, rows lane % 8 + 8 (j & 1), columns 8 (j >> 1) (`cols`).
        // `rows` and `slice_cols` start at the warp's slice of d.
        const int rows_at = opaque((8 * (lane / 16) + lane % 8) * kLd + 8 * ((lane / 8) & 1) + d0);
        const int cols_at = opaque((lane % 8 + 8 * ((lane / 8) & 1)) * kLd + 8 * (lane / 16)), slice_cols_at = cols_at + d0;
        const int ds_rows_at = opaque((8 * (lane / 16) + lane % 8) * kDsLd + 8 * ((lane / 8) & 1));
        const int ds_store_at = opaque((16 * kgroup + g) * kDsLd + 2 * t), kv_tile_at = opaque(kv_at);

        float s[Bq / 8][4], dp[Bq / 8][4];
        DK_UNROLL
        for (int nt = 0; nt < Bq / 8; ++nt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) s[nt][i] = dp[nt][i] = 0.0f;
        DK_UNROLL
        for (int ks = 0; ks < kSlice / 16; ++ks) {
            uint32_t kf[4], vf[4];
            kv_fragments(ks, kv_tile_at, kf, vf);
            DK_UNROLL
            for (int qs = 0; qs < kQSteps; ++qs) {
                uint32_t qb[4], gb[4];
                // queries 16 qs + 8 (j >> 1) + lane % 8, d d0 + 16 ks + 8 (j & 1)
                ldmatrix<4>(qb, &smem[kQu + rows_at + 16 * qs * kLd + 16 * ks]);
                ldmatrix<4>(gb, &smem[kGu + rows_at + 16 * qs * kLd + 16 * ks]);
                const uint32_t q0[2] = {qb[0], qb[1]}, q1[2] = {qb[2], qb[3]}, g0[2] = {gb[0], gb[1]}, g1[2] = {gb[2], gb[3]};
                mma_m16n8k16<T>(s[2 * qs], kf, q0, s[2 * qs]);
                mma_m16n8k16<T>(s[2 * qs + 1], kf, q1, s[2 * qs + 1]);
                mma_m16n8k16<T>(dp[2 * qs], vf, g0, dp[2 * qs]);
                mma_m16n8k16<T>(dp[2 * qs + 1], vf, g1, dp[2 * qs + 1]);
            }
        }
        if constexpr (kSplit > 1) {  // add the partner's sums over the other slice (a + b = b + a: both get the same)
            DK_UNROLL
            for (int nt = 0; nt < Bq / 8; ++nt)
                DK_UNROLL
                for (int i = 0; i < 4; ++i) partials[warp][4 * nt + i][lane] = s[nt][i], partials[warp][Bq / 2 + 4 * nt + i][lane] = dp[nt][i];
            __syncthreads();
            const int partner = warp ^ (kWarps / kSplit);
            DK_UNROLL
            for (int nt = 0; nt < Bq / 8; ++nt)
                DK_UNROLL
                for (int i = 0; i < 4; ++i) {
                    s[nt][i] += partials[partner][4 * nt + i][lane];
                    dp[nt][i] += partials[partner][Bq / 2 + 4 * nt + i][lane];
                }
        }
        // P^T and scale dS^T = scale P^T (dP^T - delta), keys wk + g (+8) by queries r0 + 8 nt + 2t (+1);
        // the lane's four queries' logsumexp and delta read once (the dS^T stores in between
        // would otherwise make the compiler reload them per element)
        float lse_q[Bq / 8][2], delta_q[Bq / 8][2];
        DK_UNROLL
        for (int nt = 0; nt < Bq / 8; ++nt)
            DK_UNROLL
            for (int e = 0; e < 2; ++e) lse_q[nt][e] = lses[u][8 * nt + 2 * t + e], delta_q[nt][e] = deltas[u][8 * nt + 2 * t + e];
        DK_UNROLL
        for (int nt = 0; nt < Bq / 8; ++nt)
            DK_UNROLL
            for (int i = 0; i < 4; ++i) {
                const float lse = lse_q[nt][i & 1];
                float p;
                if constexpr (!kBoundary) {
                    p = exp2f(fmaf(s[nt][i], scale_log2, -lse));
                } else {
                    const int64_t key = wk + g + 8 * (i >> 1), row = r0 + 8 * nt + 2 * t + (i & 1);
                    p = 0.0f;
                    if (row < a.lq && key < attention_key_end(a, kl, row) && lse != -INFINITY) {
                        const float sv = a.scale * s[nt][i] + attention_bias<T>(a, b, h, row, key);
                        p = sv == -INFINITY ? 0.0f : exp2f(sv * kLog2e - lse);
                    }
                }
                s[nt][i] = p;
                dp[nt][i] = a.scale * p * (dp[nt][i] - delta_q[nt][i & 1]);
                if (kSplit == 1 || slice == 0)  // (the partner's is the same)
                    store_float(smem[kDs + ds_store_at + 8 * (i >> 1) * kDsLd + 8 * nt + (i & 1)], dp[nt][i]);
            }
        // P^T and dS^T as A fragments, one per k16 step of queries: the accumulators of two adjacent
        // n8 tiles are the m16k16 A layout
        uint32_t pf[kQSteps][4], df[kQSteps][4];
        DK_UNROLL
        for (int qs = 0; qs < kQSteps; ++qs)
            DK_UNROLL
            for (int r = 0; r < 4; ++r) {
                const int nt = 2 * qs + (r >> 1), i = 2 * (r & 1);
                pf[qs][r] = pack2_float<T>(s[nt][i], s[nt][i + 1]);
                df[qs][r] = pack2_float<T>(dp[nt][i], dp[nt][i + 1]);
            }
        DK_UNROLL
        for (int dpair = 0; dpair < kSlice / 16; ++dpair)
            DK_UNROLL
            for (int qs = 0; qs < kQSteps; ++qs) {
                uint32_t gb[4], qb[4];
                ldmatrix<4, true>(gb, &smem[kGu + slice_cols_at + 16 * qs * kLd + 16 * dpair]);
                ldmatrix<4, true>(qb, &smem[kQu + slice_cols_at + 16 * qs * kLd + 16 * dpair]);
                const uint32_t g0[2] = {gb[0], gb[1]}, g1[2] = {gb[2], gb[3]}, q0[2] = {qb[0], qb[1]}, q1[2] = {qb[2], qb[3]};
                mma_m16n8k16<T>(dv[2 * dpair], pf[qs], g0, dv[2 * dpair]);
                mma_m16n8k16<T>(dv[2 * dpair + 1], pf[qs], g1, dv[2 * dpair + 1]);
                mma_m16n8k16<T>(dk[2 * dpair], df[qs], q0, dk[2 * dpair]);
                mma_m16n8k16<T>(dk[2 * dpair + 1], df[qs], q1, dk[2 * dpair + 1]);
            }
        if (a.dq_accum) {  // null: the deterministic dQ kernel computes it
            __syncthreads();  // every warp's dS^T is in shared memory

            float acc[kQSteps][kCols][4];  // queries 16 mq + g (+8), the warp's quarter of d
            DK_UNROLL
            for (int mq = 0; mq < kQSteps; ++mq)
                DK_UNROLL
                for (int c = 0; c < kCols; ++c)
                    DK_UNROLL
                    for (int i = 0; i < 4; ++i) acc[mq][c][i] = 0.0f;
            DK_UNROLL
            for (int kk = 0; kk < Bc / 16; ++kk) {
                // dS as A (queries x keys) from dS^T [key][query]: matrix j holds keys 16 kk + 8 (j >> 1) + (lane % 8),
                // queries 16 mq + 8 (j & 1) .. +7
                uint32_t af[kQSteps][4];
                DK_UNROLL
                for (int mq = 0; mq < kQSteps; ++mq) ldmatrix<4, true>(af[mq], &smem[kDs + ds_rows_at + 16 * kk * kDsLd + 16 * mq]);
                DK_UNROLL
                for (int c = 0; c < kCols; ++c) {
                    uint32_t bf[2];
                    // keys 16 kk + lane % 8 + 8 (j & 1), d: the warp's quarter (cols_at's column part is 0 for lanes 0-15)
                    ldmatrix<2, true>(bf, &smem[kK + cols_at + 16 * kk * kLd + warp * (D / 4) + 8 * c]);
                    DK_UNROLL
                    for (int mq = 0; mq < kQSteps; ++mq) mma_m16n8k16<T>(acc[mq][c], af[mq], bf, acc[mq][c]);
                }
            }
            DK_UNROLL
            for (int mq = 0; mq < kQSteps; ++mq)
                DK_UNROLL
                for (int c = 0; c < kCols; ++c)
                    DK_UNROLL
                    for (int h = 0; h < 2; ++h) {  // rows g, g + 8: a pair of adjacent columns each
                        const int64_t row = r0 + 16 * mq + g + 8 * h;
                        if (row < a.lq)
                            atomic_add2(&a.dq_accum[(bh * a.lq + row) * D + warp * (D / 4) + 8 * c + 2 * t],
                                        acc[mq][c][2 * h], acc[mq][c][2 * h + 1]);
                    }
        }
        u ^= 1;
    };
    if (h0 < h_end && q0 < qtiles) prefetch(h0, q0, 0);
    for (int64_t h = h0; h < h_end && q0 < qtiles; ++h) {
        for (int64_t qt = q0; qt < qa; ++qt) tile(h, qt, std::true_type{});
        for (int64_t qt = qa; qt < qb; ++qt) tile(h, qt, std::false_type{});
        for (int64_t qt = qb; qt < qtiles; ++qt) tile(h, qt, std::true_type{});
    }
    cp_async_wait<0>();  // a block with no tile to multiply still has the K / V copies in flight
    T* gk = static_cast<T*>(a.grad_k) + kvh * a.lk * D;
    T* gv = static_cast<T*>(a.grad_v) + kvh * a.lk * D;
    for (int r = 0; r < 2; ++r) {
        const int64_t key = wk + g + 8 * r;
        if (key >= a.lk) continue;
        DK_UNROLL
        for (int dt = 0; dt < kSlice / 8; ++dt) {
            const int64_t at = key * D + d0 + 8 * dt + 2 * t;
            store_float(gk[at], dk[dt][2 * r]);
            store_float(gk[at + 1], dk[dt][2 * r + 1]);
            store_float(gv[at], dv[dt][2 * r]);
            store_float(gv[at + 1], dv[dt][2 * r + 1]);
        }
    }
}

template <class F>
void dispatch_head_dim(int64_t dim, F&& f) {
    switch (dim) {
        case 32: f(std::integral_constant<int, 32>{}); return;
        case 64: f(std::integral_constant<int, 64>{}); return;
        case 96: f(std::integral_constant<int, 96>{}); return;
        case 128: f(std::integral_constant<int, 128>{}); return;
        case 256: f(std::integral_constant<int, 256>{}); return;
        default: throw Error(DK_ERROR_INTERNAL, "attention: unsupported head dim");
    }
}

inline unsigned blocks(int64_t n) {
    if (n > int64_t(0x7fffffff)) throw Error(DK_ERROR_NOT_SUPPORTED, "attention: more than 2^31 - 1 blocks");
    return unsigned(n);
}

}  // namespace attention_detail
}  // namespace DK_BACKEND
}  // namespace dk

#include "attention/attention_sm90.cuh"

namespace dk {
namespace DK_BACKEND {

// The launches for one dtype: attention.cu dispatches to them and instantiates f32,
// attention_f16.cu and attention_bf16.cu instantiate the others.
template <typename T>
void attention_forward_typed(const Exec& ex, const AttentionArgs& a) {
    using namespace attention_detail;
    if (a.batch * a.heads * a.lq == 0) return;
    if (attention_forward_sm90<T>(ex, a)) return;  // Hopper: wgmma fed by TMA
    dispatch_head_dim(a.dim, [&](auto dim) {
        constexpr int D = decltype(dim)::value;
        // Aligned: every K, V and Q row starts on 16 bytes (Q: staged on the tensor cores)
        const bool aligned = rows_aligned<T>(a.k, a.k_rows) && rows_aligned<T>(a.v, a.v_rows) &&
                             rows_aligned<T>(a.q, a.q_rows);
        dispatch_bool(aligned, [&](auto aligned) {
            using Tiles = FwdTiles<T, D, decltype(aligned)::value>;
            const int64_t qtiles = (a.lq + Tiles::kQueryTile - 1) / Tiles::kQueryTile;
            launch(ex, "attention_forward", attention_forward_kernel<T, D, decltype(aligned)::value>,
                   dim3(blocks(a.batch * a.heads * qtiles)), dim3(kThreads), size_t(Tiles::kSharedBytes), a);
        });
    });
}

template <typename T>
void attention_backward_typed(const Exec& ex, DType dtype, const AttentionArgs& a) {
    using namespace attention_detail;
    const int64_t rows = a.batch * a.heads * a.lq;
    launch(ex, "attention_delta", attention_delta_kernel<T>, dim3(grid_for(ex, rows, kWarps)), dim3(kThreads), 0, a);
    dispatch_head_dim(a.dim, [&](auto dim) {
        constexpr int D = decltype(dim)::value;
        if constexpr (uses_mma<T>()) {
            dispatch_bool(aligned16({a.k, a.v, a.q, a.grad_out}), [&](auto aligned) {
                using Tiles = BwdMmaTiles<T, D, decltype(aligned)::value>;
                const int64_t ktiles = (a.lk + Tiles::Bc - 1) / Tiles::Bc;
                launch(ex, "attention_backward_mma", attention_backward_mma_kernel<T, D, decltype(aligned)::value>,
                       dim3(blocks(a.batch * a.kv_heads * ktiles)), dim3(kThreads), size_t(Tiles::kSharedBytes), a);
            });
        } else {
            const int64_t ktiles = (a.lk + bwd_tile<D>() - 1) / bwd_tile<D>();
            launch(ex, "attention_backward", attention_backward_kernel<T, D>, dim3(blocks(a.batch * a.kv_heads * ktiles)),
                   dim3(kThreads), size_t(bwd_shared_floats<D>(bwd_tile<D>())) * 4, a);
        }
        if (!a.dq_accum) {  // deterministic: dQ by query tiles
            const int64_t qtiles = (a.lq + kQueryTile - 1) / kQueryTile;
            dispatch_bool(aligned16({a.k, a.v}), [&](auto aligned) {
                launch(ex, "attention_backward_dq", attention_backward_dq_kernel<T, D, decltype(aligned)::value>,
                       dim3(blocks(a.batch * a.heads * qtiles)), dim3(kThreads), size_t(dq_shared_bytes<T, D>()), a);
            });
        }
    });
    if (a.dq_accum) cast(ex, DType::f32, a.dq_accum, dtype, a.grad_q, rows * a.dim);
}

}  // namespace DK_BACKEND
}  // namespace dk
