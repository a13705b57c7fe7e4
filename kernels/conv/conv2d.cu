// conv2d.cu - 2-D convolution: forward with a fused epilogue, data and weight gradients (the data
// gradient also serves the transposed conv), NCHW and NHWC, any stride / padding / dilation /
// groups, f32 / f16 / bf16 storage with f32 math; and the dispatch between the conv paths.
//
// All three are implicit GEMMs per group, never materializing the im2col matrix: 256 threads own a
// 64 x 64 output tile, the reduction advances 16 at a time through two f32 tiles in shared memory
// gathered from the tensors (zeros for padding and ragged edges), and each thread accumulates a
// 4 x 4 register block whose rows and columns are 16 apart (so its shared reads are broadcasts or
// consecutive). Each gather takes consecutive threads along whichever index its tensor is
// contiguous in, so the loads coalesce: channels in NHWC, pixels in NCHW.
//
//   forward  out[m, k] = sum_red A[m, red] W[k, red], m = (n, p, q) output pixels, k = K/g filters,
//            red = (c, r, s) the C/g R S taps; epilogue act(acc + bias) + residual (conv.cuh).
//   data     dx[m, c] = sum_(k, r, s) dy[n, k, p, q] W[k, (c, r, s)] over the input pixels m: input
//            row h gets filter row r only where h + pad - r dil divides by the stride. The pixels are
//            split by (h mod stride_h, w mod stride_w): within one such class every pixel has the
//            same dividing taps, an arithmetic progression of r (and s), so the reduction runs over
//            those K/g * (R/stride) * (S/stride) terms only instead of testing all K/g R S (the
//            class index maps are conv.cuh's conv_residue_*).
//            Epilogue: the transposed conv's act(acc + bias[c]).
//   weight   dw[k, red] = sum over the N P Q pixels of dy[m, k] A[m, red]: a long reduction, cut into
//            conv_weight_grad_splits (ops.h) pieces, one per block, with f32 partial tiles in the
//            workspace summed by a second pass (column_sum.cuh); no atomics, deterministic.
//   bias     db[k] = sum over the N P Q pixels of dy[m, k]: a block per channel (reduce.cuh).
//
// FLOPs 2 N P Q K C/g R S each (the data gradient fewer by the skipped taps). Memory traffic: each
// operand once per 64 columns / rows of the other (the R S-fold reuse of x is left to the caches);
// the outputs once, the weight gradient's partials splits x K C/g R S floats twice.
//
// The forward dispatch tries, in order: gemm_1x1 (NHWC 1x1, stride 1, no padding, groups 1: x
// [NHW, C] @ w^T through gemm.cu), depthwise (groups == C, conv2d_depthwise.cu), implicit_gemm_mma
// (C/groups a whole number of 16-byte chunks: bf16 / f16, or f32 as tf32 where allowed; NCHW
// through channels-last copies of x and w; conv2d_mma.cu), then this file's implicit_gemm_fma.
// The gradients run on the same 64 x 64 tiles on tensor cores (conv2d_mma.cu) for NHWC with
// C/groups and K/groups whole 16-byte chunks (bf16 / f16, or f32 as tf32 where allowed), here otherwise.
#include "deepkern/portable.cuh"
#include "deepkern/column_sum.cuh"
#include "conv/conv.cuh"
#include "conv/conv_paths.h"
#include "gemm/gemm.h"
#include "tensor/tensor.h"
#include "deepkern/dispatch.h"
#include "deepkern/reduce.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {
constexpr int kTile = 64, kTileK = 16, kThreads = 256;
}

// The two operand tiles of one reduction step, float [kTileK][kTile + 4] each: [l][row], rows
// padded by 4 so a gather along the reduction (consecutive threads, consecutive l) spreads over the banks.
#define DK_FMA_TILES(a, b)                       \
    DK_SHARED(float, a, [kTileK][kTile + 4]);    \
    DK_SHARED(float, b, [kTileK][kTile + 4])

// tile[l][i] = at(i, l0 + l), 0 past len. along_red: consecutive threads take consecutive l
// (the tensor is contiguous along the reduction there), otherwise consecutive rows i.
template <class Tile, class At>
__device__ __forceinline__ void fma_fill(Tile&& tile, bool along_red, int64_t l0, int64_t len, const At& at) {
    for (int e = threadIdx.x; e < kTileK * kTile; e += kThreads) {
        const int l = along_red ? e % kTileK : e / kTile, i = along_red ? e / kTileK : e % kTile;
        tile[l][i] = l0 + l < len ? at(i, l0 + l) : 0.0f;
    }
}

// acc[i][j] = sum over l < len of a(ty + 16 i, l) * b(tx + 16 j, l) for thread (tx, ty) =
// (tid % 16, tid / 16); a and b return 0 for the rows / columns past the edge of the problem.
template <class Tile, class A, class B>
__device__ __forceinline__ void fma_tile_product(Tile&& ta, Tile&& tb, int64_t len, bool a_along_red, const A& a,
                                                 bool b_along_red, const B& b, float (&acc)[4][4]) {
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    DK_UNROLL
    for (int i = 0; i < 4; ++i)
        DK_UNROLL
        for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
    for (int64_t l0 = 0; l0 < len; l0 += kTileK) {
        fma_fill(ta, a_along_red, l0, len, a);
        fma_fill(tb, b_along_red, l0, len, b);
        __syncthreads();
        DK_UNROLL
        for (int l = 0; l < kTileK; ++l) {
            float av[4], bv[4];
            DK_UNROLL
            for (int i = 0; i < 4; ++i) av[i] = ta[l][ty + 16 * i];
            DK_UNROLL
            for (int j = 0; j < 4; ++j) bv[j] = tb[l][tx + 16 * j];
            DK_UNROLL
            for (int i = 0; i < 4; ++i)
                DK_UNROLL
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }
}

// Hands this thread's elements of acc inside the first rows x cols of the tile to the kernel's
// epilogue: row(i) decodes tile row i once and returns the store(j, value) of its columns j.
template <class Row>
__device__ __forceinline__ void fma_tile_store(const float (&acc)[4][4], int64_t rows, int64_t cols, const Row& row) {
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    DK_UNROLL
    for (int i = 0; i < 4; ++i) {
        if (ty + 16 * i >= rows) continue;
        const auto store = row(ty + 16 * i);
        DK_UNROLL
        for (int j = 0; j < 4; ++j)
            if (tx + 16 * j < cols) store(tx + 16 * j, acc[i][j]);
    }
}

template <typename T>
__global__ void conv2d_forward_kernel(ConvArgs a) {
    DK_FMA_TILES(ta, tb);
    const ConvGeom g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const int64_t m_total = g.n * g.p * g.q;
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g);
    const int64_t m0 = int64_t(blockIdx.x) * kTile, k0 = int64_t(blockIdx.y) * kTile;
    for (int64_t grp = blockIdx.z; grp < g.groups; grp += gridDim.z) {
        const auto patch = [&](int i, int64_t l) {
            const int64_t m = m0 + i;
            int64_t xi;
            return m < m_total && conv_tap(g, m, l, grp * cgs, xi) ? load_float(x[xi]) : 0.0f;
        };
        const auto filter = [&](int j, int64_t l) {
            const int64_t k = k0 + j;
            return k < kgs ? load_float(w[(grp * kgs + k) * red + l]) : 0.0f;
        };
        float acc[4][4];
        // NHWC patches run along the channels (red is (r, s, c) there); filter rows along red
        fma_tile_product(ta, tb, red, g.nhwc != 0, patch, true, filter, acc);
        fma_tile_store(acc, m_total - m0, kgs - k0, conv_forward_tile_out<T>(a, grp, m0, k0));
    }
}

template <typename T>
__global__ void conv2d_backward_data_kernel(ConvArgs a) {
    DK_FMA_TILES(ta, tb);
    const ConvGeom g = a.g;
    const T* gy = static_cast<const T*>(a.grad_y);
    const T* w = static_cast<const T*>(a.w);
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g);
    const int64_t classes = conv_residue_classes(g);
    const int64_t m0 = int64_t(blockIdx.x) * kTile, c0 = int64_t(blockIdx.y) * kTile;
    for (int64_t z = blockIdx.z; z < g.groups * classes; z += gridDim.z) {
        const ConvResidueClass rc = conv_residue_class(g, z % classes);
        const int64_t grp = z / classes, m_total = g.n * rc.rows * rc.cols;
        if (m0 >= m_total) continue;  // the whole block: the class is smaller than the grid
        const auto grad = [&](int i, int64_t l) {
            const int64_t m = m0 + i;
            int64_t yi;
            return m < m_total && conv_residue_tap(g, rc, m, l, grp * kgs, yi) ? load_float(gy[yi]) : 0.0f;
        };
        const auto filter = [&](int j, int64_t l) {
            const int64_t cg = c0 + j;
            if (cg >= cgs) return 0.0f;
            int64_t kk, r, s;
            conv_residue_decode(rc, kgs, l, kk, r, s);
            return load_float(w[(grp * kgs + kk) * red + conv_red_index(g, cg, r, s)]);
        };
        float acc[4][4];
        // NHWC grad_y runs along the filters kk (the fastest part of l), NCHW along the pixels;
        // NHWC filters along the channels (the columns), NCHW along neither
        fma_tile_product(ta, tb, rc.len(kgs), g.nhwc != 0, grad, false, filter, acc);
        fma_tile_store(acc, m_total - m0, cgs - c0, conv_data_tile_out<T>(a, rc, grp, m0, c0));
    }
}

// One piece of the weight gradient's reduction: pixels [piece * chunk, + chunk) of group grp.
// partials: [pieces][k][red] f32, or null where there is one piece and the tile goes to dw directly.
template <typename T>
__global__ void conv2d_backward_weight_kernel(ConvArgs a, int64_t pieces, int64_t chunk, float* partials) {
    DK_FMA_TILES(ta, tb);
    const ConvGeom g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* gy = static_cast<const T*>(a.grad_y);
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g), pixels = g.n * g.p * g.q;
    const int64_t j0 = int64_t(blockIdx.x) * kTile, k0 = int64_t(blockIdx.y) * kTile;
    for (int64_t z = blockIdx.z; z < g.groups * pieces; z += gridDim.z) {
        const int64_t grp = z / pieces, piece = z % pieces, mb = piece * chunk;
        const int64_t len = pixels - mb < chunk ? pixels - mb : chunk;
        const auto grad = [&](int i, int64_t l) {
            const int64_t k = k0 + i;
            if (k >= kgs) return 0.0f;
            const int64_t m = mb + l, q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
            return load_float(gy[conv_y_index(g, n, grp * kgs + k, p, q)]);
        };
        const auto patch = [&](int j, int64_t l) {
            const int64_t rr = j0 + j;
            int64_t xi;
            return rr < red && conv_tap(g, mb + l, rr, grp * cgs, xi) ? load_float(x[xi]) : 0.0f;
        };
        float acc[4][4];
        // NCHW tensors run along the pixels (the reduction); NHWC grad_y along k, patches along red
        fma_tile_product(ta, tb, len, g.nhwc == 0, grad, g.nhwc == 0, patch, acc);
        fma_tile_store(acc, kgs - k0, red - j0, conv_weight_tile_out<T>(a, grp, k0, j0, piece, partials));
    }
}

// db[k] = the sum of grad_y over the N P Q pixels of channel k: a block per channel, its threads
// over the pixels (consecutive ones in NCHW, K apart in NHWC), one block-wide sum.
template <typename T>
__global__ void conv2d_backward_bias_kernel(ConvArgs a) {
    DK_SHARED(float, scratch, [32]);
    const ConvGeom g = a.g;
    const T* gy = static_cast<const T*>(a.grad_y);
    const int64_t plane = g.p * g.q, pixels = g.n * plane;
    for (int64_t k = blockIdx.x; k < g.k; k += gridDim.x) {
        float acc = 0.0f;
        for (int64_t t = threadIdx.x; t < pixels; t += blockDim.x)
            acc += load_float(gy[g.nhwc ? t * g.k + k : (t / plane * g.k + k) * plane + t % plane]);
        acc = block_sum(acc, scratch);
        if (threadIdx.x == 0) store_float(static_cast<T*>(a.db)[k], acc);
    }
}

namespace {

// NHWC, groups 1, a 1x1 filter at stride 1 without padding: y [N H W, K] = x [N H W, C] @ w [K, C]^T.
bool conv2d_is_1x1_gemm(const ConvArgs& a) {
    return a.g.nhwc && a.g.groups == 1 && conv_is_pointwise(a.g);
}

void conv2d_forward_1x1_gemm(const Exec& ex, DType dtype, const ConvArgs& a) {
    GemmArgs m{};
    m.a = a.x;
    m.b = a.w;
    m.bias = a.bias;
    m.residual = a.residual;
    m.out = a.y;
    m.m = a.g.n * a.g.h * a.g.w;
    m.n = a.g.k;
    m.k = a.g.c;
    m.batch = 1;
    m.act = a.act;
    m.trans_b = true;
    m.tf32 = a.tf32;
    gemm(ex, dtype, m);  // gemm.cu, with the same epilogue
}

}  // namespace

void conv2d_forward_algorithm(const Exec& ex, DType dtype, const ConvArgs& a, const char** name) {
    *name = conv2d_is_1x1_gemm(a)                  ? "gemm_1x1"
            : conv2d_depthwise_eligible(a)         ? "depthwise"
            : conv2d_sm90_eligible(ex, dtype, a)   ? "implicit_gemm_wgmma"
            : conv2d_mma_eligible(dtype, a)        ? "implicit_gemm_mma"
                                                 : "implicit_gemm_fma";
}

void conv2d_forward_workspace(const Exec&, DType dtype, const ConvArgs& a, int64_t* bytes) {
    *bytes = conv2d_is_1x1_gemm(a) || conv2d_depthwise_eligible(a) ? 0 : conv2d_forward_mma_workspace(dtype, a);
}

void conv2d_forward(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (conv2d_is_1x1_gemm(a)) return conv2d_forward_1x1_gemm(ex, dtype, a);
    if (conv2d_forward_depthwise(ex, dtype, a)) return;
    if (conv2d_forward_sm90(ex, dtype, a)) return;
    if (conv2d_forward_mma(ex, dtype, a)) return;
    const int64_t m_total = a.g.n * a.g.p * a.g.q, kgs = a.g.k / a.g.groups;
    if (m_total == 0 || kgs == 0) return;
    const dim3 grid(unsigned((m_total + kTile - 1) / kTile), unsigned((kgs + kTile - 1) / kTile),
                    unsigned(a.g.groups < 65535 ? a.g.groups : 65535));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "conv2d_forward", conv2d_forward_kernel<T>, grid, dim3(kThreads), 0, a);
    });
}

void conv2d_backward_data_workspace(const Exec&, DType dtype, const ConvArgs& a, int64_t* bytes) {
    *bytes = conv2d_backward_data_mma_workspace(dtype, a);
}

namespace {
// The weight gradient's workspace: the split's f32 partial sums, then the tensor cores' NCHW copies.
int64_t weight_partials_bytes(const Exec& ex, const ConvGeom& g) {
    const int64_t splits = conv_weight_grad_splits(ex, g);
    return splits > 1 ? (splits * g.k * conv_red(g) * int64_t(sizeof(float)) + 15) / 16 * 16 : 0;
}
}  // namespace

void conv2d_backward_weight_workspace(const Exec& ex, DType dtype, const ConvArgs& a, int64_t* bytes) {
    const int64_t copies = conv2d_backward_weight_mma_workspace(dtype, a);
    *bytes = weight_partials_bytes(ex, a.g) + copies;
}

void conv2d_backward_data(const Exec& ex, DType dtype, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const int64_t cgs = g.c / g.groups;
    const int64_t m_most = conv_data_grad_rows(g);
    if (m_most == 0 || cgs == 0) return;
    const int64_t z = g.groups * conv_residue_classes(g);
    const dim3 grid(unsigned((m_most + kTile - 1) / kTile), unsigned((cgs + kTile - 1) / kTile),
                    unsigned(z < 65535 ? z : 65535));
    if (conv2d_backward_data_mma(ex, dtype, a, grid)) return;  // same tiles on tensor cores (conv2d_mma.cu)
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "conv2d_backward_data", conv2d_backward_data_kernel<T>, grid, dim3(kThreads), 0, a);
    });
}

void conv2d_backward_weight(const Exec& ex, DType dtype, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const int64_t red = conv_red(g), kgs = g.k / g.groups, total = g.k * red, pixels = g.n * g.p * g.q;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (total > 0 && pixels == 0) {
            fill(ex, dtype, a.dw, total, 0.0);  // a sum over no pixels
        } else if (total > 0) {
            // pieces a multiple of the reduction step long; the op sized the workspace for the split
            const int64_t splits = a.workspace ? conv_weight_grad_splits(ex, g) : 1;
            const int64_t chunk = ((pixels + splits - 1) / splits + kTileK - 1) / kTileK * kTileK;
            const int64_t pieces = (pixels + chunk - 1) / chunk;
            float* partials = pieces > 1 ? a.workspace : nullptr;
            void* copies = a.workspace ? reinterpret_cast<unsigned char*>(a.workspace) + weight_partials_bytes(ex, g) : nullptr;
            const int64_t z = g.groups * pieces;
            const dim3 grid(unsigned((red + kTile - 1) / kTile), unsigned((kgs + kTile - 1) / kTile),
                            unsigned(z < 65535 ? z : 65535));
            void* dw = conv2d_backward_weight_mma(ex, dtype, a, grid, pieces, chunk, partials, copies);
            if (!dw) {
                launch(ex, "conv2d_backward_weight", conv2d_backward_weight_kernel<T>, grid, dim3(kThreads), 0, a,
                       pieces, chunk, partials);
                dw = a.dw;
            }
            if (partials)
                launch(ex, "conv2d_backward_weight_sum", column_sum_kernel<T>, dim3(grid_for(ex, total, 256)), dim3(256),
                       0, static_cast<const float*>(partials), pieces, total, static_cast<T*>(dw));
            if (dw != a.dw) conv2d_backward_weight_mma_to_nchw(ex, dtype, a, dw);
        }
        if (a.db && g.k > 0)
            launch(ex, "conv2d_backward_bias", conv2d_backward_bias_kernel<T>,
                   dim3(unsigned(g.k < 65535 ? g.k : 65535)), dim3(256), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
