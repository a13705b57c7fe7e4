// gemm.cu - batched matrix products with a fused epilogue: out = act(op(a) @ op(b) + bias) + residual.
//
// f32 (TF32 not allowed): a tiled FMA kernel (f32 math): each block computes a 64 x 64 tile of one batch's output
// with 256 threads, each thread a 4 x 4 register tile whose rows and columns are 16 apart (so a
// warp's shared-memory reads are conflict-free broadcasts and consecutive). K advances in steps of
// 16: both operand tiles are staged through shared memory as f32 [k][m] and [k][n] with zero fill
// past the edges, so any M, N, K works, transposed or not.
// f16 / bf16, and f32 where TF32 is allowed: the tensor cores (gemm_mma_kernel below: mma.m16n8k16,
// or m16n8k8.tf32, with f32 accumulation through mma.cuh, 128 x 128 block tiles of four 64 x 64
// warp tiles, a 4-stage cp.async pipeline over K in 64-byte steps), its tiles in grouped order (tile_order.cuh).
// On compute capability 9.x, f16 / bf16 products not split over K go to gemm_sm90.cu (wgmma, TMA).
// Both end in the epilogue of gemm/gemm_epilogue.cuh (bias, activation, residual, store). The
// batch runs in gridDim.z (grid-stride beyond 65535), with broadcast batch dims as stride 0.
// FLOPs 2 batch M N K; traffic per block: its A rows and B columns once per K step (A read
// N / tile_n times in all, B M / tile_m times), out written once.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/async_copy.cuh"
#include "gemm/gemm_epilogue.cuh"
#include "deepkern/mma.cuh"
#include "deepkern/packs.cuh"
#include "gemm/gemm.h"
#include "gemm/gemm_sm90.h"
#include "gemm/tile_order.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {
constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kThreads = 256;
}

template <typename T>
__global__ void gemm_kernel(GemmArgs p) {
    DK_SHARED(float, as, [kTileK][kTileM + 4]);
    DK_SHARED(float, bs, [kTileK][kTileN + 4]);
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

// The tensor-core path for f16 / bf16, and for f32 where the caller allows TF32 (GemmArgs::tf32:
// operands rounded to tf32 per fragment, mma.m16n8k8.tf32, f32 accumulation - torch's
// allow_tf32): a 128 x 128 output tile per block of 4 warps in a 2 x 2 grid, each warp owning
// 64 x 64 outputs (4 x 8 m16n8 accumulators, f32: per mma step of K, 8 ldmatrix.x4 feed 32 mma,
// 128 bytes of shared memory per mma). K advances 64 bytes per stage (32 of f16 / bf16, 16 of f32)
// through a 4-stage ring of shared-memory tiles filled with 16-byte cp.async copies: while the
// tensor cores work on stage s, the copies of the next three are in flight, and one barrier per step
// both publishes the landed stage and frees the one to refill. Each operand tile keeps its storage
// order (the dim contiguous in memory is contiguous in shared memory, so every copy is a 16-byte
// chunk of one row): A as [m][k] (row stride kLdK, 80 bytes) or, transposed, [k][m] (stride kLdA =
// 136 elements); B as [k][n] (stride kLdB = 136) or, transposed, [n][k] (stride kLdK). An 80-byte
// pitch puts the 8 row addresses of an ldmatrix in 8 different bank groups, and so do 272 bytes
// (f16); ldmatrix (.trans where the stored order is the fragment's transpose) builds the fragments.
// Padding, not an XOR swizzle: both keep those rows conflict-free, but padded, every fragment address
// is a constant offset from the stage's base, where a swizzle costs address arithmetic per ldmatrix
// (tried: 4.3 -> 6.2 instructions per mma in the kernel report's hot loop, ceiling 100% -> 86-97%
// for bf16); the 16 KB the padding takes do not limit occupancy (registers do). On Hopper the
// swizzle is free, applied by TMA and read by wgmma's descriptors.
// ldmatrix cannot transpose 32-bit elements, so f32 tiles stored [k][m] / [k][n] are read with
// one 4-byte load per fragment element instead: a pitch of 136 = 8 mod 32 words puts the 32 lanes
// (k = t, t + 4 by row g) in 32 different banks. Chunks past the M / N / K edges are cp.async
// zero fills. The operands' orders are template parameters (no branch in the loop); operands whose
// rows are not 16-byte aligned (the contiguous extent not a multiple of a 16-byte chunk, or a
// misaligned base) run the Vec = false instantiations, which stage element by element with plain
// loads into the same layout - slower, same schedule, and kept out of the fast kernels' loop.
// Shared memory 4 x (128 x 40 + 128 x 40) x 2 bytes = 4 x (128 x 20 + 128 x 20) x 4 = 80 KB (opted
// into at launch, under every supported GPU's 99 KB); after the K loop it holds the f32 output
// tile for a coalesced epilogue.
namespace {
constexpr int kMmaM = 128, kMmaN = 128, kStages = 4, kMmaThreads = 128;
constexpr int kWarpM = 64, kWarpN = 64;  // each warp's part of the tile: 2 x 2 warps
static_assert(kMmaThreads / 32 == (kMmaM / kWarpM) * (kMmaN / kWarpN), "one warp per warp tile");
constexpr int kLdC = kMmaN + 4;

// The shared-memory tiles of operand type T (f16 / bf16, or f32 as tf32).
template <typename T>
struct GemmMmaTiles {
    using Step = MmaStep<T>;
    static constexpr int kChunk = Step::kChunk;         // elements per 16-byte copy
    static constexpr int kK = 64 / int(sizeof(T));      // K per stage: 64-byte rows
    static constexpr int kLdK = kK + kChunk, kLdA = kMmaM + 8, kLdB = kMmaN + 8;
    static constexpr int kAElems = kMmaM * kLdK > kK * kLdA ? kMmaM * kLdK : kK * kLdA;
    static constexpr int kBElems = kMmaN * kLdK > kK * kLdB ? kMmaN * kLdK : kK * kLdB;
    static constexpr int kStageElems = kAElems + kBElems;
    static constexpr size_t kShared = size_t(kStages) * kStageElems * sizeof(T);
    static_assert(kK % Step::kK == 0, "whole mma steps per stage");
    static_assert(kLdK * int(sizeof(T)) % 128 == 80, "ldmatrix rows of [row][k] tiles in distinct bank groups");
    static_assert(kLdA % 32 == 8 && kLdB % 32 == 8, "[k][row] tiles: distinct banks for ldmatrix and 4-byte reads");
    static_assert(size_t(kMmaM) * kLdC * 4 <= kShared, "the output tile fits in the stages");
    static_assert(kShared <= DK_SHARED_LIMIT_SM86, "the stages fit every supported GPU");
};
}  // namespace

// Rows r0 .. r0+R-1, columns c0 .. c0+C-1 of a row-major matrix src (ld elements per row, rows x
// cols valid) into shared rows of stride S at smem[base]: 16-byte cp.async chunks (zero-filled past
// the edges) when Vec, else element by element with zeros past the edges.
template <typename T, int R, int C, int S, bool Vec, typename Smem>
__device__ __forceinline__ void stage_tile(const Smem& smem, int base, const T* src, int64_t ld, int64_t r0, int64_t c0,
                                           int64_t rows, int64_t cols) {
    if constexpr (Vec) {
        constexpr int chunk = MmaStep<T>::kChunk;
        static_assert(R * C / chunk % kMmaThreads == 0, "whole rounds of 16-byte chunks");
        DK_UNROLL
        for (int round = 0; round < R * C / chunk / kMmaThreads; ++round) {
            const int e = int(threadIdx.x) + round * kMmaThreads, r = e / (C / chunk), c = chunk * (e % (C / chunk));
            const bool ok = r0 + r < rows && c0 + c < cols;
            cp_async_zfill(&smem[base + r * S + c], ok ? src + (r0 + r) * ld + c0 + c : src, ok);
        }
    } else {
        T zero;
        store_float(zero, 0.0f);
        for (int e = threadIdx.x; e < R * C; e += kMmaThreads) {
            const int r = e / C, c = e % C;
            smem[base + r * S + c] = r0 + r < rows && c0 + c < cols ? src[(r0 + r) * ld + c0 + c] : zero;
        }
    }
}

// Split K (gridDim.y > 1, GemmArgs::partials): block y takes the stages [y per, (y + 1) per) of the
// K loop and writes its f32 tile to partials[y]; gemm_split_sum_kernel adds the pieces in order
// and applies the epilogue. For products with fewer output tiles than SMs and a long K, where one
// block per tile leaves most of the machine idle; deterministic (no atomics).
template <typename T, bool Vec, bool TransA, bool TransB>
__global__ void gemm_mma_kernel(GemmArgs p) {
    using Tiles = GemmMmaTiles<T>;
    using Step = typename Tiles::Step;
    constexpr int kK = Tiles::kK, kStageElems = Tiles::kStageElems, kChunk = Tiles::kChunk;
    DK_DYNAMIC_SHARED(T, smem);    // kStages x {A tile, B tile}
    DK_DYNAMIC_SHARED(float, cs);  // the same memory: the f32 output tile [kMmaM][kLdC] after the loop
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, g = lane >> 2, t = lane & 3;
    const int wm = kWarpM * (warp & 1), wn = kWarpN * (warp >> 1);
    unsigned tm, tn;
    tile_of(blockIdx.x, unsigned((p.m + kMmaM - 1) / kMmaM), unsigned((p.n + kMmaN - 1) / kMmaN), tm, tn);
    const int64_t m0 = int64_t(tm) * kMmaM, n0 = int64_t(tn) * kMmaN;
    const int64_t all_steps = (p.k + kK - 1) / kK, per = (all_steps + gridDim.y - 1) / gridDim.y;
    const int64_t first = int64_t(blockIdx.y) * per;  // this block's K stages: [first, first + steps)
    const int64_t steps = all_steps - first < per ? all_steps - first : per, k_first = first * kK;
    // out's, the residual's and the bias's rows start on 16-byte boundaries: 16-byte stores
    const bool packs = p.n % kChunk == 0 && (reinterpret_cast<uintptr_t>(p.out) | reinterpret_cast<uintptr_t>(p.residual) |
                                             reinterpret_cast<uintptr_t>(p.bias)) % 16 == 0;
    for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
        int64_t a_off, b_off;
        gemm_batch_offsets(p, z, a_off, b_off);
        const T* A = static_cast<const T*>(p.a) + a_off;
        const T* B = static_cast<const T*>(p.b) + b_off;
        const auto load_stage = [&](int st, int64_t k0) {
            const int sa = st * kStageElems, sb = sa + Tiles::kAElems;
            if constexpr (TransA)
                stage_tile<T, kK, kMmaM, Tiles::kLdA, Vec>(smem, sa, A, p.m, k0, m0, p.k, p.m);
            else
                stage_tile<T, kMmaM, kK, Tiles::kLdK, Vec>(smem, sa, A, p.k, m0, k0, p.m, p.k);
            if constexpr (TransB)
                stage_tile<T, kMmaN, kK, Tiles::kLdK, Vec>(smem, sb, B, p.k, n0, k0, p.n, p.k);
            else
                stage_tile<T, kK, kMmaN, Tiles::kLdB, Vec>(smem, sb, B, p.n, k0, n0, p.k, p.n);
        };
        float acc[kWarpM / 16][kWarpN / 8][4];
        DK_UNROLL
        for (int i = 0; i < kWarpM / 16; ++i)
            DK_UNROLL
            for (int j = 0; j < kWarpN / 8; ++j)
                DK_UNROLL
                for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
        // one commit per stage even when there is nothing to load, so wait<kStages - 2> always
        // means "the oldest stage has landed"
        for (int st = 0; st < kStages - 1; ++st) {
            if (st < steps) load_stage(st, k_first + st * kK);
            cp_async_commit();
        }
        for (int64_t step = 0; step < steps; ++step) {
            cp_async_wait<kStages - 2>();
            __syncthreads();  // stage step landed for all; stage step - 1 is no longer read
            const int64_t next = step + kStages - 1;
            if (next < steps) load_stage(int(next % kStages), k_first + next * kK);
            cp_async_commit();
            const int sa = int(step % kStages) * kStageElems, sb = sa + Tiles::kAElems;
            DK_UNROLL
            for (int ks = 0; ks < kK; ks += Step::kK) {
                uint32_t af[kWarpM / 16][4];
                DK_UNROLL
                for (int mt = 0; mt < kWarpM / 16; ++mt)
                    mma_a_fragment<T, TransA>(af[mt], smem, sa, TransA ? Tiles::kLdA : Tiles::kLdK, wm + 16 * mt, ks);
                DK_UNROLL
                for (int q = 0; q < kWarpN / 16; ++q) {
                    uint32_t bf[4];  // B stored [k][n] is k-major; transposed, [n][k]
                    mma_b_fragments<T, !TransB>(bf, smem, sb, TransB ? Tiles::kLdK : Tiles::kLdB, wn + 16 * q, ks);
                    const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
                    DK_UNROLL
                    for (int mt = 0; mt < kWarpM / 16; ++mt) {
                        Step::mma(acc[mt][2 * q], af[mt], b0);
                        Step::mma(acc[mt][2 * q + 1], af[mt], b1);
                    }
                }
            }
        }
        // The tile goes out through shared memory (the stages are free once every warp is past its
        // last mma): one epilogue call site instead of 64 unrolled ones, and consecutive threads
        // store consecutive columns.
        __syncthreads();
        DK_UNROLL
        for (int mt = 0; mt < kWarpM / 16; ++mt)
            DK_UNROLL
            for (int nt = 0; nt < kWarpN / 8; ++nt)
                DK_UNROLL
                for (int i = 0; i < 4; ++i)
                    cs[(wm + 16 * mt + g + 8 * (i >> 1)) * kLdC + wn + 8 * nt + 2 * t + (i & 1)] = acc[mt][nt][i];
        __syncthreads();
        if (p.partials) {  // a piece of a split K: the f32 tile as it is, 16-byte stores where n allows
            float* part = p.partials + int64_t(blockIdx.y) * p.m * p.n;
            for (int e = tid; e < kMmaM * kMmaN / 4; e += kMmaThreads) {
                const int r = e / (kMmaN / 4), c = 4 * (e % (kMmaN / 4));
                if (m0 + r >= p.m) continue;
                Floats<4> v;
                each<4>([&](int k) { v.v[k] = cs[r * kLdC + c + k]; });
                if (p.n % 4 == 0 && n0 + c < p.n)
                    store<4>(part + (m0 + r) * p.n + n0 + c, v);
                else
                    each<4>([&](int k) {
                        if (n0 + c + k < p.n) part[(m0 + r) * p.n + n0 + c + k] = v.v[k];
                    });
            }
        } else if (packs) {  // one 16-byte pack of consecutive columns per thread and step
            for (int e = tid; e < kMmaM * kMmaN / kChunk; e += kMmaThreads) {
                const int r = e / (kMmaN / kChunk), c = kChunk * (e % (kMmaN / kChunk));
                if (m0 + r >= p.m || n0 + c >= p.n) continue;  // n is a multiple of the pack: all or none
                Floats<kChunk> v;
                each<kChunk>([&](int k) { v.v[k] = cs[r * kLdC + c + k]; });
                gemm_store<T>(p, z, m0 + r, n0 + c, v);
            }
        } else {
            for (int e = tid; e < kMmaM * kMmaN; e += kMmaThreads) {
                const int r = e / kMmaN, c = e % kMmaN;
                if (m0 + r < p.m && n0 + c < p.n) gemm_store<T>(p, z, m0 + r, n0 + c, cs[r * kLdC + c]);
            }
        }
        __syncthreads();  // the next batch's prologue refills this memory
    }
}

// out = epilogue(sum over the splits of partials[split]), the pieces added in split order: one
// thread per 4 consecutive outputs of a row (16-byte loads of the pieces) where n allows, else per
// output.
template <typename T>
__global__ void gemm_split_sum_kernel(GemmArgs p, int splits) {
    const int64_t mn = p.m * p.n;
    if (p.n % 4 == 0) {
        for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < mn / 4; e += int64_t(gridDim.x) * blockDim.x) {
            Floats<4> v = load<4>(p.partials + 4 * e);
            for (int s = 1; s < splits; ++s) {
                const Floats<4> w = load<4>(p.partials + s * mn + 4 * e);
                each<4>([&](int k) { v.v[k] += w.v[k]; });
            }
            const int64_t m = 4 * e / p.n, n = 4 * e % p.n;
            each<4>([&](int k) { gemm_store<T>(p, 0, m, n + k, v.v[k]); });
        }
    } else {
        for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < mn; e += int64_t(gridDim.x) * blockDim.x) {
            float v = p.partials[e];
            for (int s = 1; s < splits; ++s) v += p.partials[s * mn + e];
            gemm_store<T>(p, 0, e / p.n, e % p.n, v);
        }
    }
}

// 16-byte rows for cp.async: each operand's contiguous extent a whole number of 16-byte chunks keeps
// every row (and batch) aligned, given an aligned base.
inline bool gemm_rows_aligned(const GemmArgs& a, int64_t chunk) {
    return (a.trans_a ? a.m : a.k) % chunk == 0 && (a.trans_b ? a.k : a.n) % chunk == 0 && aligned16({a.a, a.b});
}

// f(Vec, TransA, TransB) as std::bool_constant: the tensor-core kernel's instantiation for a.
template <typename T, class F>
void dispatch_gemm_mma(const GemmArgs& a, F&& f) {
    dispatch_bool(gemm_rows_aligned(a, MmaStep<T>::kChunk), [&](auto vec) {
        dispatch_bool(a.trans_a, [&](auto trans_a) {
            dispatch_bool(a.trans_b, [&](auto trans_b) { f(vec, trans_a, trans_b); });
        });
    });
}

// The tensor-core kernel's 128 x 128 output tiles of one batch.
inline int64_t mma_tiles(const GemmArgs& a) { return ((a.m + kMmaM - 1) / kMmaM) * ((a.n + kMmaN - 1) / kMmaN); }

// Into how many pieces the tensor-core kernel splits K: enough blocks to give every SM one (emu:
// its constant 16), each piece at least 8 stages long (so its pipeline fills), at most 16; 1
// for batched products, the FMA kernel, and products with tiles enough.
inline int64_t gemm_k_splits(const Exec& ex, DType dtype, const GemmArgs& a) {
    if (a.batch != 1 || (dtype == DType::f32 && !a.tf32)) return 1;
    const int64_t stage_k = dtype == DType::f32 ? GemmMmaTiles<float>::kK : GemmMmaTiles<bf16>::kK;
    const int64_t tiles = mma_tiles(a), steps = (a.k + stage_k - 1) / stage_k;
    int64_t s = (ex.multiprocessors + tiles - 1) / tiles;
    if (s > steps / 8) s = steps / 8;
    if (s > 16) s = 16;
    if (s <= 1) return 1;
    const int64_t per = (steps + s - 1) / s;
    return (steps + per - 1) / per;  // no empty piece: every split has stages
}

inline dim3 mma_grid(const GemmArgs& a, unsigned batch, int64_t splits) {
    const int64_t tiles = mma_tiles(a);
    if (tiles > int64_t(0x7fffffff)) throw Error(DK_ERROR_NOT_SUPPORTED, "gemm: more than 2^31 - 1 output tiles");
    return dim3(unsigned(tiles), unsigned(splits), batch);
}

void gemm_workspace(const Exec& ex, DType dtype, const GemmArgs& a, int64_t* bytes) {
    const int64_t splits = a.batch * a.m * a.n == 0 ? 1 : gemm_k_splits(ex, dtype, a);
    *bytes = splits > 1 ? splits * a.m * a.n * int64_t(sizeof(float)) : 0;
}

void gemm(const Exec& ex, DType dtype, const GemmArgs& a) {
    if (a.batch * a.m * a.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const unsigned batch = unsigned(a.batch < 65535 ? a.batch : 65535);
        if constexpr (std::is_same<T, float>::value) {
            if (!a.tf32)
                return launch(ex, "gemm", gemm_kernel<T>, dim3(unsigned((a.m + kTileM - 1) / kTileM),
                              unsigned((a.n + kTileN - 1) / kTileN), batch), dim3(kThreads), 0, a);
        }
        // a K split where the caller gave the workspace for it (conv2d's 1x1 GEMM gives none)
        const int64_t splits = a.partials ? gemm_k_splits(ex, dtype, a) : 1;
        if (splits == 1 && gemm_sm90(ex, dtype, a)) return;  // Hopper: wgmma fed by TMA
        GemmArgs b = a;
        if (splits == 1) b.partials = nullptr;
        dispatch_gemm_mma<T>(a, [&](auto vec, auto trans_a, auto trans_b) {
            launch(ex, "gemm_mma", gemm_mma_kernel<T, decltype(vec)::value, decltype(trans_a)::value, decltype(trans_b)::value>,
                   mma_grid(a, batch, splits), dim3(kMmaThreads), GemmMmaTiles<T>::kShared, b);
        });
        if (splits > 1)
            launch(ex, "gemm_split_sum", gemm_split_sum_kernel<T>, dim3(grid_for(ex, a.m * a.n / 4 + 1, 256)), dim3(256), 0, b,
                   int(splits));
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
