// conv2d_mma.cu - the tensor-core paths of 2-D convolution: NHWC, f32 accumulation, for bf16 /
// f16 and for f32 where TF32 is allowed (operands rounded to tf32 per fragment,
// mma.m16n8k8.tf32). The forward (C/groups a whole number of 16-byte chunks: 8 elements, f32 4;
// NCHW through channels-last copies) with conv2d.cu's fused epilogue; the data and weight
// gradients (C/groups and K/groups whole chunks; NCHW through channels-last copies, the weight
// gradient's dw transposed back).
// The same implicit GEMMs as conv2d.cu's FMA kernels (the data gradient over the same stride
// residue classes, the weight gradient over the same reduction pieces and workspace).
//
// In NHWC every operand has 8 (f32: 4) consecutive reduction or output indices on 16 contiguous
// bytes; below for 16-bit types:
// forward red = (r, s, c) takes 8 channels of one input pixel; the data gradient's reduction
// (taps, kk) 8 filters of one grad_y pixel and its output 8 channels of one filter tap; the weight
// gradient 8 filters of one grad_y pixel and 8 channels of one input pixel. So every tile is
// gathered with 16-byte cp.async copies (cp.async's zero-fill where a tap falls in the padding,
// does not divide the stride, or runs past an edge). A reduction step is 64 bytes of each row (32
// elements, f32 16), so the tiles of every type take the same shared memory. Each kernel decodes
// its gathers once per thread and advances them per step (ForwardTaps, DataGradTaps,
// WeightGradTaps): no division in a main loop. A block of 4 warps owns an M x 64 output tile
// (M = 128 forward and data gradient, 64 weight gradient); per 32-wide step of the reduction each
// warp loads the 16 x 16 A fragments of its M / 64 m16 tiles and, for each pair of n8 tiles, 16 x 16
// B fragments with ldmatrix.x4, and issues mma.m16n8k16 into an (M / 4) x 64 f32 accumulator. A
// tile is staged [row][red] (rows of 40 elements) or, where the tensor runs along the rows
// instead, [red][row] (rows of M + 8 or 72) and read with ldmatrix .trans; each pitch is an odd
// multiple of 16 bytes, so the eight row addresses of an ldmatrix fall in different banks.
// Two pipeline stages: while the tensor cores multiply one pair of tiles, the cp.async copies of
// the next pair are in flight (commit per stage, wait_group<1>, then a barrier).
// FLOPs and traffic as conv2d.cu's kernels, on tensor cores.
#include <string>

#include "deepkern/portable.cuh"
#include "deepkern/async_copy.cuh"
#include "conv/conv.cuh"
#include "conv/conv_paths.h"
#include "conv/conv_taps.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/mma.cuh"
#include "tensor/tensor.h"

namespace dk {
namespace DK_BACKEND {

// Block tiles are M x kMmaN, each of the 4 warps owning M / 4 rows. M = 128 where the rows are
// pixels (the forward, the data gradient): twice the MMAs per staged B element and per ldmatrix of
// B of M = 64, which the weight gradient keeps: its rows are filters (often 64), and its grid is
// conv2d.cu's FMA kernel's.
constexpr int kMmaN = 64, kMmaThreads = 128, kMmaWarps = kMmaThreads / 32;
constexpr int kPixelM = 128, kFilterM = 64;

// The tiles of element type T: kK reductions per step (64-byte rows), kChunk per 16-byte copy.
template <typename T>
struct ConvMmaTiles {
    using Step = MmaStep<T>;
    static constexpr int kChunk = Step::kChunk, kK = 64 / int(sizeof(T));
    static constexpr int kLdRed = kK + kChunk;                        // pitch of a [row][red] tile: 80 bytes
    // pitch of a [red][row] tile: 8 elements past the rows, 16 bytes (f16: 8 ldmatrix rows in 8 bank
    // groups) or 32 (f32, read by 4-byte loads: lanes (red t, row g) in 32 different banks)
    static constexpr int ld_row(int rows) { return rows + 8; }
    // Elements of an operand tile of `rows` rows in either form (the larger one).
    static constexpr int tile(int rows) { return rows * kLdRed > kK * ld_row(rows) ? rows * kLdRed : kK * ld_row(rows); }
    template <int M>
    static constexpr int stage() { return tile(M) + tile(kMmaN); }  // one pipeline stage: A, then B
    template <int M>
    static constexpr size_t shared() { return size_t(2 * stage<M>()) * sizeof(T); }  // two stages
    static_assert(kK % Step::kK == 0, "whole mma steps per reduction step");
};
static_assert(ConvMmaTiles<bf16>::shared<kPixelM>() <= DK_SHARED_WITHOUT_OPT_IN &&
              ConvMmaTiles<float>::shared<kPixelM>() <= DK_SHARED_WITHOUT_OPT_IN, "no opt-in needed");

// One 16-byte chunk of from into smem at dst, or zeros where from is null (cp.async's zero-fill:
// no read; base, the operand's tensor, stands in as the address).
template <typename T, typename Smem>
__device__ __forceinline__ void copy_chunk(const Smem& smem, int dst, const T* from, const T* base) {
    cp_async_zfill(&smem[dst], from ? from : base, from != nullptr);
}

// The staging offset of this thread's k-th chunk in a tile of Chunks 16-byte chunks per row at pitch
// Ld: consecutive threads along a row, then the next rows.
template <typename T, int Chunks, int Ld>
__device__ __forceinline__ int chunk_slot(int k) {
    static_assert(kMmaThreads % Chunks == 0, "whole rows per pass of the threads");
    constexpr int kChunk = ConvMmaTiles<T>::kChunk;
    return (int(threadIdx.x) / Chunks + k * (kMmaThreads / Chunks)) * Ld + kChunk * (int(threadIdx.x) % Chunks);
}

// Gathers one operand tile into the stage at smem offset at, in the form mma_tile_product reads:
// Rows rows of kK reductions ([row][red], pitch kLdRed) or, with Trans, kK reductions of Rows rows
// ([red][row], pitch ld_row(Rows)), one 16-byte cp.async per kChunk elements. src(i, off) is the
// global source of elements off .. off + kChunk - 1 of staged row i (in the tensor at base), or
// null where those are zeros (a tap in the padding or off the stride, past an edge).
template <bool Trans, int Rows, typename T, typename Smem, class Src>
__device__ __forceinline__ void gather_tile(const Smem& smem, int at, const T* base, const Src& src) {
    using Tiles = ConvMmaTiles<T>;
    constexpr int kChunk = Tiles::kChunk, rows = Trans ? Tiles::kK : Rows, chunks = (Trans ? Rows : Tiles::kK) / kChunk;
    constexpr int ld = Trans ? Tiles::ld_row(Rows) : Tiles::kLdRed;
    static_assert(rows * chunks % kMmaThreads == 0, "every thread copies the same number of chunks");
    DK_UNROLL
    for (int k = 0; k < rows * chunks / kMmaThreads; ++k) {
        const int i = int(threadIdx.x) / chunks + k * (kMmaThreads / chunks), ch = int(threadIdx.x) % chunks;
        copy_chunk(smem, at + chunk_slot<T, chunks, ld>(k), static_cast<const T*>(src(i, int64_t(kChunk) * ch)), base);
    }
}

// acc (this warp's M / 4 rows, from (M / 4) warp, by the kMmaN columns of the block's tile) = sum
// over l < len of A[row, l] B[l, col]. load(a, b, l0) issues the copies of the tiles of reduction
// step l0 into the stage at a (A, [row][red] pitch kLdRed, or with ATrans [red][row] pitch
// ld_row(M)) and b (B likewise: [col][red], or with BTrans [red][col]); this function commits
// them. smem is the kernel's DK_DYNAMIC_SHARED array (bounds-checked on emu). The fragments come
// from mma.cuh's mma_a_fragment / mma_b_fragments, as the GEMM's do.
template <int M>
using MmaAcc = float[M / 64][kMmaN / 8][4];  // [m16 tile of the warp's rows][n8 tile][fragment]

template <typename T, int M, bool ATrans, bool BTrans, typename Smem, class Load>
__device__ __forceinline__ void mma_tile_product(const Smem& smem, int64_t len, const Load& load, MmaAcc<M>& acc) {
    using Tiles = ConvMmaTiles<T>;
    using Step = typename Tiles::Step;
    constexpr int kMt = M / 64, kStage = Tiles::template stage<M>(), kBAt = Tiles::tile(M);
    constexpr int kK = Tiles::kK, kLdRed = Tiles::kLdRed;
    const int warp = threadIdx.x / 32;
    DK_UNROLL
    for (int mt = 0; mt < kMt; ++mt)
        DK_UNROLL
        for (int nt = 0; nt < kMmaN / 8; ++nt)
            DK_UNROLL
            for (int e = 0; e < 4; ++e) acc[mt][nt][e] = 0.0f;
    const int64_t steps = (len + kK - 1) / kK;
    if (steps > 0) {
        load(0, kBAt, int64_t(0));
        cp_async_commit();
    }
    for (int64_t step = 0; step < steps; ++step) {
        const int st = int(step & 1);
        // the next tile streams into the other stage while this one is multiplied
        if (step + 1 < steps) {
            load((st ^ 1) * kStage, (st ^ 1) * kStage + kBAt, (step + 1) * kK);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const int a = st * kStage, b = a + kBAt;
        DK_UNROLL
        for (int ks = 0; ks < kK; ks += Step::kK) {
            uint32_t af[kMt][4];
            DK_UNROLL
            for (int mt = 0; mt < kMt; ++mt)
                mma_a_fragment<T, ATrans>(af[mt], smem, a, ATrans ? Tiles::ld_row(M) : kLdRed,
                                          (M / kMmaWarps) * warp + 16 * mt, ks);
            DK_UNROLL
            for (int pr = 0; pr < kMmaN / 16; ++pr) {
                uint32_t bf[4];  // columns 16 pr .. 16 pr + 15: two n8 tiles' fragments
                mma_b_fragments<T, BTrans>(bf, smem, b, BTrans ? Tiles::ld_row(kMmaN) : kLdRed, 16 * pr, ks);
                const uint32_t b0[2] = {bf[0], bf[1]}, b1[2] = {bf[2], bf[3]};
                DK_UNROLL
                for (int mt = 0; mt < kMt; ++mt) {
                    Step::mma(acc[mt][2 * pr], af[mt], b0);
                    Step::mma(acc[mt][2 * pr + 1], af[mt], b1);
                }
            }
        }
        __syncthreads();  // this stage is refilled two steps on
    }
}

// The accumulator element e of m16 tile mt, n8 tile nt of this thread: its tile row and column.
template <int M>
__device__ __forceinline__ int mma_row(int mt, int e) {
    return (M / kMmaWarps) * (int(threadIdx.x) / 32) + 16 * mt + (int(threadIdx.x) % 32 >> 2) + 8 * (e >> 1);
}
__device__ __forceinline__ int mma_col(int nt, int e) { return 8 * nt + 2 * (int(threadIdx.x) & 3) + (e & 1); }

// Hands this thread's accumulator elements inside the first rows x cols of the tile to the kernel's
// epilogue: row(i) decodes tile row i once and returns the store(j, value) of its columns j.
template <int M, class Row>
__device__ __forceinline__ void mma_tile_store(const MmaAcc<M>& acc, int64_t rows, int64_t cols, const Row& row) {
    // unrolled: acc is indexed by constants only, so it stays in registers (no stack frame)
    DK_UNROLL
    for (int mt = 0; mt < M / 64; ++mt)
        DK_UNROLL
        for (int e = 0; e < 4; ++e) {
            const int i = mma_row<M>(mt, e);
            if (i >= rows) continue;
            const auto store = row(i);
            DK_UNROLL
            for (int nt = 0; nt < kMmaN / 8; ++nt) {
                const int j = mma_col(nt, e);
                if (j < cols) store(j, acc[mt][nt][e]);
            }
        }
}

// An index held as digits (lo < a, mid < b, hi) of i = (hi b + mid) a + lo and advanced by a fixed
// step, given in the same digits, with two carries: the gradients' gathers step their reduction or
// pixel indices this way instead of dividing per chunk.
struct RadixIndex {
    int64_t lo, mid, hi;
};

struct RadixStep {
    int64_t a, b;  // the radices
    RadixIndex d;  // the step's digits

    DK_HD RadixStep(int64_t a_, int64_t b_, int64_t step) : a(a_), b(b_), d(decode(step)) {}

    DK_HD RadixIndex decode(int64_t i) const { return RadixIndex{i % a, i / a % b, i / a / b}; }

    DK_HD void advance(RadixIndex& i) const {  // lo + d.lo < 2a and mid + d.mid + 1 < 2b: one carry each
        i.lo += d.lo;
        const bool c1 = i.lo >= a;
        if (c1) i.lo -= a;
        i.mid += d.mid + c1;
        const bool c2 = i.mid >= b;
        if (c2) i.mid -= b;
        i.hi += d.hi + c2;
    }
};

// The data gradient's gathers for one thread over residue class rc. The reduction index is
// l = ((ri, si), kk) digits (kk < K/groups, si < taps per column, ri), tap (r.first + ri r.step,
// s.first + si s.step). A (grad_y, [pixel][l]): the thread copies chunk tid % kAChunks (kChunk
// filters of one tap) of pixel rows tid / kAChunks + kARowStep k; a pixel's output row at tap ri is
// p0 - ri dp (the class's taps divide the stride: dp = r.step dil_h / stride_h), its column
// q0 - si dq. B (w, [l][cg]): rows tid / kBChunks + kBRowStep k, channel chunk tid % kBChunks.
template <typename T>
struct DataGradTaps {
    static constexpr int kK = ConvMmaTiles<T>::kK, kChunk = ConvMmaTiles<T>::kChunk;
    static constexpr int kAChunks = kK / kChunk, kARowStep = kMmaThreads / kAChunks, kARows = kPixelM / kARowStep;
    static constexpr int kBChunks = kMmaN / kChunk, kBRowStep = kMmaThreads / kBChunks, kBRows = kK / kBRowStep;
    static_assert(kMmaThreads % kAChunks == 0 && kMmaThreads % kBChunks == 0 && kPixelM % kARowStep == 0 &&
                  kK % kBRowStep == 0, "every thread copies whole rows' chunks");
    RadixStep step;                         // kK as (kk, si, ri) digits
    RadixIndex al, bl[kBRows];              // the A chunk's l; the B rows' l
    int64_t p0[kARows], q0[kARows], image[kARows], dp, dq;  // the A rows' pixels (n P Q K: grad_y's image)
    static constexpr int64_t kNoRow = INT64_MIN / 2;        // p0 past the class's pixels: every tap is outside

    __device__ __forceinline__ DataGradTaps(const ConvGeom& g, const ConvResidueClass& rc, int64_t kgs, int64_t m0,
                                            int64_t m_total)
        : step(kgs, rc.s.count > 0 ? rc.s.count : 1, kK) {
        al = step.decode(kChunk * (threadIdx.x % kAChunks));
        for (int k = 0; k < kBRows; ++k) bl[k] = step.decode(int(threadIdx.x) / kBChunks + k * kBRowStep);
        dp = rc.r.step * g.dil_h / g.stride_h;
        dq = rc.s.step * g.dil_w / g.stride_w;
        for (int k = 0; k < kARows; ++k) {
            const int64_t m = m0 + int(threadIdx.x) / kAChunks + k * kARowStep;
            int64_t n, h, w;
            conv_residue_pixel(g, rc, m < m_total ? m : 0, n, h, w);
            p0[k] = m < m_total ? (h + g.pad_h - rc.r.first * g.dil_h) / g.stride_h : kNoRow;  // exact
            q0[k] = (w + g.pad_w - rc.s.first * g.dil_w) / g.stride_w;
            image[k] = n * g.p * g.q * g.k;
        }
    }

    // A row k's kChunk elements at the current step (filters k0 + kk..), or null outside.
    __device__ __forceinline__ const T* a_source(const ConvGeom& g, const ConvResidueClass& rc, const T* gy, int64_t k0,
                                                 int k) const {
        const int64_t p = p0[k] - al.hi * dp, q = q0[k] - al.mid * dq;
        if (al.hi >= rc.r.count || p < 0 || p >= g.p || q < 0 || q >= g.q) return nullptr;
        return gy + image[k] + (p * g.q + q) * g.k + k0 + al.lo;
    }

    // B row k's kChunk elements (channels cg.. of filter tap (r, s) of filter k0 + kk), or null outside.
    __device__ __forceinline__ const T* b_source(const ConvGeom& g, const ConvResidueClass& rc, const T* w, int64_t k0,
                                                 int64_t cg, int64_t cgs, int64_t red, int k) const {
        if (bl[k].hi >= rc.r.count || cg >= cgs) return nullptr;
        const int64_t r = rc.r.first + bl[k].hi * rc.r.step, s = rc.s.first + bl[k].mid * rc.s.step;
        return w + (k0 + bl[k].lo) * red + (r * g.s + s) * cgs + cg;  // NHWC: [k][r][s][cg]
    }

    __device__ __forceinline__ void advance() {
        step.advance(al);
        for (int k = 0; k < kBRows; ++k) step.advance(bl[k]);
    }
};

// The weight gradient's B gather (patches, [pixel l][rr]) for one thread: channel chunk
// tid % kChunks of reduction index rr (one (r, s) tap, decoded once: fixed for the block) at pixel
// rows tid / kChunks + kRowStep k, pixels mb + l held as (q, p, n) digits.
template <typename T>
struct WeightGradTaps {
    static constexpr int kK = ConvMmaTiles<T>::kK, kChunk = ConvMmaTiles<T>::kChunk;
    static constexpr int kChunks = kMmaN / kChunk, kRowStep = kMmaThreads / kChunks, kRows = kK / kRowStep;
    static_assert(kMmaThreads % kChunks == 0 && kK % kRowStep == 0, "every thread copies whole rows' chunks");
    RadixStep step;  // kK as (q, p, n) digits
    RadixIndex pix[kRows];
    int64_t l[kRows], rr, cg, r, s;

    __device__ __forceinline__ WeightGradTaps(const ConvGeom& g, int64_t mb, int64_t j0) : step(g.q, g.p, kK) {
        rr = j0 + kChunk * (threadIdx.x % kChunks);
        conv_red_decode_rsc(g, rr, cg, r, s);
        for (int k = 0; k < kRows; ++k) {
            l[k] = int(threadIdx.x) / kChunks + k * kRowStep;
            pix[k] = step.decode(mb + l[k]);
        }
    }

    __device__ __forceinline__ const T* source(const ConvGeom& g, const T* x, int64_t c0, int64_t len, int64_t red,
                                               int k) const {
        const int64_t h = pix[k].mid * g.stride_h - g.pad_h + r * g.dil_h, w = pix[k].lo * g.stride_w - g.pad_w + s * g.dil_w;
        if (l[k] >= len || rr >= red || h < 0 || h >= g.h || w < 0 || w >= g.w) return nullptr;
        return x + ((pix[k].hi * g.h + h) * g.w + w) * g.c + c0 + cg;
    }

    __device__ __forceinline__ void advance() {
        for (int k = 0; k < kRows; ++k) step.advance(pix[k]), l[k] += kK;
    }
};

template <typename T>
__global__ void conv2d_forward_mma_kernel(ConvArgs a) {
    DK_DYNAMIC_SHARED(T, smem);
    const ConvGeom g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const int64_t m_total = g.n * g.p * g.q;
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g);
    const int64_t m0 = int64_t(blockIdx.x) * kPixelM, k0 = int64_t(blockIdx.y) * kMmaN;
    for (int64_t grp = blockIdx.z; grp < g.groups; grp += gridDim.z) {
        using Taps = ForwardTaps<T, ConvMmaTiles<T>::kK, kMmaThreads, kPixelM>;
        Taps taps(g, m0, m_total);
        const auto load = [&](int at, int bt, int64_t r0) {
            for (int k = 0; k < Taps::kRows; ++k)
                copy_chunk(smem, at + chunk_slot<T, Taps::kK / Taps::kChunk, ConvMmaTiles<T>::kLdRed>(k),
                           taps.source(g, x, grp * cgs, red, k), x);
            taps.advance(g, cgs);  // load is called once per step, in order
            gather_tile<false, kMmaN>(smem, bt, w, [&](int nn, int64_t off) {
                const int64_t k = k0 + nn, rr = r0 + off;
                return k < kgs && rr < red ? w + (grp * kgs + k) * red + rr : nullptr;
            });
        };
        MmaAcc<kPixelM> acc;
        mma_tile_product<T, kPixelM, false, false>(smem, red, load, acc);
        mma_tile_store<kPixelM>(acc, m_total - m0, kgs - k0, conv_forward_tile_out<T>(a, grp, m0, k0));
    }
}

// dx over one stride residue class per (group, class) z: A = grad_y taps [pixel][(taps, kk)],
// B = w [(taps, kk)][cg] (conv2d.cu's conv2d_backward_data_kernel, on tensor cores).
template <typename T>
__global__ void conv2d_backward_data_mma_kernel(ConvArgs a) {
    DK_DYNAMIC_SHARED(T, smem);
    const ConvGeom g = a.g;
    const T* gy = static_cast<const T*>(a.grad_y);
    const T* w = static_cast<const T*>(a.w);
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g);
    const int64_t classes = conv_residue_classes(g);
    const int64_t m0 = int64_t(blockIdx.x) * kPixelM, c0 = int64_t(blockIdx.y) * kMmaN;
    for (int64_t z = blockIdx.z; z < g.groups * classes; z += gridDim.z) {
        const ConvResidueClass rc = conv_residue_class(g, z % classes);
        const int64_t grp = z / classes, m_total = g.n * rc.rows * rc.cols;
        if (m0 >= m_total) continue;  // the whole block
        using Taps = DataGradTaps<T>;
        using Tiles = ConvMmaTiles<T>;
        Taps taps(g, rc, kgs, m0, m_total);
        const auto load = [&](int at, int bt, int64_t) {  // once per step, in order
            for (int k = 0; k < Taps::kARows; ++k)
                copy_chunk(smem, at + chunk_slot<T, Taps::kAChunks, Tiles::kLdRed>(k), taps.a_source(g, rc, gy, grp * kgs, k), gy);
            const int64_t cg = c0 + Taps::kChunk * (int(threadIdx.x) % Taps::kBChunks);
            for (int k = 0; k < Taps::kBRows; ++k)
                copy_chunk(smem, bt + chunk_slot<T, Taps::kBChunks, Tiles::ld_row(kMmaN)>(k),
                           taps.b_source(g, rc, w, grp * kgs, cg, cgs, red, k), w);
            taps.advance();
        };
        MmaAcc<kPixelM> acc;
        mma_tile_product<T, kPixelM, false, true>(smem, rc.len(kgs), load, acc);
        mma_tile_store<kPixelM>(acc, m_total - m0, cgs - c0, conv_data_tile_out<T>(a, rc, grp, m0, c0));
    }
}

// One reduction piece of dw per (group, piece) z: A = grad_y^T [k][pixel] (staged [pixel][k]),
// B = patches [pixel][red] (conv2d.cu's conv2d_backward_weight_kernel, on tensor cores).
template <typename T>
__global__ void conv2d_backward_weight_mma_kernel(ConvArgs a, int64_t pieces, int64_t chunk, float* partials) {
    DK_DYNAMIC_SHARED(T, smem);
    const ConvGeom g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* gy = static_cast<const T*>(a.grad_y);
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g), pixels = g.n * g.p * g.q;
    const int64_t j0 = int64_t(blockIdx.x) * kMmaN, k0 = int64_t(blockIdx.y) * kFilterM;
    for (int64_t z = blockIdx.z; z < g.groups * pieces; z += gridDim.z) {
        const int64_t grp = z / pieces, piece = z % pieces, mb = piece * chunk;
        const int64_t len = pixels - mb < chunk ? pixels - mb : chunk;
        using Taps = WeightGradTaps<T>;
        Taps taps(g, mb, j0);
        const auto load = [&](int at, int bt, int64_t l0) {  // once per step, in order
            gather_tile<true, kFilterM>(smem, at, gy, [&](int ll, int64_t off) {
                const int64_t l = l0 + ll, k = k0 + off;
                return l < len && k < kgs ? gy + (mb + l) * g.k + grp * kgs + k : nullptr;  // NHWC: pixel-major
            });
            for (int k = 0; k < Taps::kRows; ++k)
                copy_chunk(smem, bt + chunk_slot<T, Taps::kChunks, ConvMmaTiles<T>::ld_row(kMmaN)>(k),
                           taps.source(g, x, grp * cgs, len, red, k), x);
            taps.advance();
        };
        MmaAcc<kFilterM> acc;
        mma_tile_product<T, kFilterM, true, true>(smem, len, load, acc);
        mma_tile_store<kFilterM>(acc, kgs - k0, red - j0, conv_weight_tile_out<T>(a, grp, k0, j0, piece, partials));
    }
}

namespace {
bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }
// The 16-byte chunk in elements for dtype on the tensor cores: 8 (bf16 / f16), 4 (f32 where TF32
// is allowed), or 0 where it has no tensor-core path.
int64_t mma_chunk(DType dtype, const ConvArgs& a) {
    return dtype == DType::bf16 || dtype == DType::f16 ? 8 : dtype == DType::f32 && a.tf32 ? 4 : 0;
}
// Whether n (C/groups or K/groups) is a nonzero number of whole chunks: the gathers decode their
// indices by it once (an empty group, which torch allows, takes the FMA kernels).
bool whole_chunks(int64_t n, int64_t chunk) { return chunk && n > 0 && n % chunk == 0; }
// The gradients' condition: C/groups and K/groups whole chunks.
bool grad_chunks(DType dtype, const ConvArgs& a) {
    const int64_t chunk = mma_chunk(dtype, a);
    return whole_chunks(a.g.c / a.g.groups, chunk) && whole_chunks(a.g.k / a.g.groups, chunk);
}
// src [d0][d1][d2][d3] (compact) into compact dst [d0][d2][d3][d1]: NCHW x or [K][C/g][R][S] w
// to channels-last, through the strided copy (tensor.cu).
void to_channels_last(const Exec& ex, DType dtype, const void* src, void* dst, int64_t d0, int64_t d1, int64_t d2,
                      int64_t d3) {
    StridedCopyArgs c{};
    c.x = src;
    c.out = dst;
    c.ndim = 4;
    c.numel = d0 * d1 * d2 * d3;
    const int64_t shape[4] = {d0, d2, d3, d1}, stride[4] = {d1 * d2 * d3, d3, 1, d2 * d3};
    for (int d = 0; d < 4; ++d) c.shape[d] = shape[d], c.x_stride[d] = stride[d];
    c.out_strided = false;
    strided_copy(ex, dtype, c);
}

// The NCHW paths' channels-last operand copies, laid out one after another in a workspace, each
// 16-byte aligned: the same walk sizes the workspace (constructed without one) and fills it.
class ChannelsLast {
public:
    ChannelsLast(DType dtype, const ConvArgs& a) : dtype_(dtype), size_(16 / mma_chunk(dtype, a)) {}
    ChannelsLast(const Exec& ex, DType dtype, const ConvArgs& a, void* workspace) : ChannelsLast(dtype, a) {
        ex_ = &ex;
        at_ = static_cast<unsigned char*>(workspace);
    }

    // x [N][C][H][W], grad_y [N][K][P][Q] and w [K][C/g][R][S] channels-last
    void* x(const ConvArgs& a) { return copy(a.x, a.g.n, a.g.c, a.g.h, a.g.w); }
    void* grad_y(const ConvArgs& a) { return copy(a.grad_y, a.g.n, a.g.k, a.g.p, a.g.q); }
    void* w(const ConvArgs& a) { return copy(a.w, a.g.k, a.g.c / a.g.groups, a.g.r, a.g.s); }
    // room for a [K][R][S][C/g] weight gradient, not copied
    void* dw(const ConvArgs& a) { return take(a.g.k * conv_red(a.g)); }
    int64_t bytes() const { return used_; }

private:
    void* copy(const void* src, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
        void* dst = take(d0 * d1 * d2 * d3);
        if (dst) to_channels_last(*ex_, dtype_, src, dst, d0, d1, d2, d3);
        return dst;
    }
    void* take(int64_t elems) {
        void* p = at_ ? at_ + used_ : nullptr;
        used_ += (elems * size_ + 15) / 16 * 16;
        return p;
    }
    const Exec* ex_ = nullptr;
    DType dtype_;
    int64_t size_, used_ = 0;
    unsigned char* at_ = nullptr;
};

// The workspace of an NCHW call, which the op sized from the same walk.
void* nchw_workspace(void* ws, const char* what) {
    if (!ws) throw Error(DK_ERROR_INTERNAL, std::string(what) + ": NCHW without its workspace");
    return ws;
}

// go(T{}) for the element type of a tensor-core dtype
template <class Launch>
void launch_typed(DType dtype, const Launch& go) {
    if (dtype == DType::bf16)
        go(bf16{});
    else if (dtype == DType::f16)
        go(f16{});
    else
        go(float{});
}
}  // namespace

bool conv2d_mma_eligible(DType dtype, const ConvArgs& a) {
    return whole_chunks(a.g.c / a.g.groups, mma_chunk(dtype, a)) && (!a.g.nhwc || (aligned16(a.x) && aligned16(a.w)));
}

int64_t conv2d_forward_mma_workspace(DType dtype, const ConvArgs& a) {
    if (a.g.nhwc || !conv2d_mma_eligible(dtype, a)) return 0;
    ChannelsLast sizes(dtype, a);
    sizes.x(a), sizes.w(a);
    return sizes.bytes();
}

bool conv2d_forward_mma(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (!conv2d_mma_eligible(dtype, a)) return false;
    const int64_t m_total = a.g.n * a.g.p * a.g.q, kgs = a.g.k / a.g.groups;
    if (m_total == 0 || kgs == 0) return true;
    // NCHW: the kernel gathers channels-last x and (r, s, c)-ordered w and writes y (and reads the
    // residual) in the geometry's own layout, so only the operands are copied
    ConvArgs b = a;
    if (!a.g.nhwc) {
        ChannelsLast copies(ex, dtype, a, nchw_workspace(a.workspace, "conv2d_forward_mma"));
        b.x = copies.x(a);
        b.w = copies.w(a);
    }
    const dim3 grid(unsigned((m_total + kPixelM - 1) / kPixelM), unsigned((kgs + kMmaN - 1) / kMmaN),
                    unsigned(a.g.groups < 65535 ? a.g.groups : 65535));
    const auto go = [&](auto tag) {
        using T = decltype(tag);
        launch(ex, "conv2d_forward_mma", conv2d_forward_mma_kernel<T>, grid, dim3(kMmaThreads),
               ConvMmaTiles<T>::template shared<kPixelM>(), b);
    };
    launch_typed(dtype, go);
    return true;
}

int64_t conv2d_backward_data_mma_workspace(DType dtype, const ConvArgs& a) {
    if (a.g.nhwc || !grad_chunks(dtype, a)) return 0;
    ChannelsLast sizes(dtype, a);
    sizes.grad_y(a), sizes.w(a);
    return sizes.bytes();
}

bool conv2d_backward_data_mma(const Exec& ex, DType dtype, const ConvArgs& a, dim3 grid) {
    if (!grad_chunks(dtype, a) || (a.g.nhwc && !(aligned16(a.grad_y) && aligned16(a.w)))) return false;
    // NCHW: the kernel gathers channels-last grad_y and (r, s, c)-ordered w and writes dx in the
    // geometry's own layout, so only the operands are copied
    ConvArgs b = a;
    if (!a.g.nhwc) {
        ChannelsLast copies(ex, dtype, a, nchw_workspace(a.workspace, "conv2d_backward_data_mma"));
        b.grad_y = copies.grad_y(a);
        b.w = copies.w(a);
    }
    dim3 wide = grid;  // the FMA kernel's grid over kPixelM-row tiles
    wide.x = unsigned((conv_data_grad_rows(a.g) + kPixelM - 1) / kPixelM);
    launch_typed(dtype, [&](auto tag) {
        using T = decltype(tag);
        launch(ex, "conv2d_backward_data_mma", conv2d_backward_data_mma_kernel<T>, wide, dim3(kMmaThreads),
               ConvMmaTiles<T>::template shared<kPixelM>(), b);
    });
    return true;
}

int64_t conv2d_backward_weight_mma_workspace(DType dtype, const ConvArgs& a) {
    if (a.g.nhwc || !grad_chunks(dtype, a)) return 0;
    ChannelsLast sizes(dtype, a);
    sizes.x(a), sizes.grad_y(a), sizes.dw(a);
    return sizes.bytes();
}

void* conv2d_backward_weight_mma(const Exec& ex, DType dtype, const ConvArgs& a, dim3 grid, int64_t pieces,
                                 int64_t chunk, float* partials, void* copies) {
    if (!grad_chunks(dtype, a) || (a.g.nhwc && !(aligned16(a.grad_y) && aligned16(a.x)))) return nullptr;
    // NCHW: x and grad_y copied channels-last; the kernel's dw comes out in (r, s, c) order, into
    // the workspace too, for conv2d_backward_weight_mma_to_nchw
    ConvArgs b = a;
    if (!a.g.nhwc) {
        ChannelsLast nchw(ex, dtype, a, nchw_workspace(copies, "conv2d_backward_weight_mma"));
        b.x = nchw.x(a);
        b.grad_y = nchw.grad_y(a);
        b.dw = nchw.dw(a);
    }
    launch_typed(dtype, [&](auto tag) {
        using T = decltype(tag);
        launch(ex, "conv2d_backward_weight_mma", conv2d_backward_weight_mma_kernel<T>, grid, dim3(kMmaThreads),
               ConvMmaTiles<T>::template shared<kFilterM>(), b, pieces, chunk, partials);
    });
    return b.dw;
}

void conv2d_backward_weight_mma_to_nchw(const Exec& ex, DType dtype, const ConvArgs& a, const void* dw_rsc) {
    // [k][r s][c/g][1] -> [k][c/g][1][r s]
    to_channels_last(ex, dtype, dw_rsc, a.dw, a.g.k, a.g.r * a.g.s, a.g.c / a.g.groups, 1);
}

}  // namespace DK_BACKEND
}  // namespace dk
