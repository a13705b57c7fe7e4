// cpu/conv.cpp - 2-D convolution on the cpu backend as matrix products (dk::cpu::gemm).
//
// Rows are output pixels m = (n, p, q) flattened; the reduction is the weight's red = C/g * R * S
// in the layout's own order (conv/conv.cuh), so im2col's columns line up with w's [K, red]
// rows. Per block of rows and per group:
//   forward         y[m, k]   = col[m, :] . w[k, :]          col = im2col(x), [rows, red] f32
//   data gradient   dcol      = dy[rows, K/g] @ w[K/g, red]  then gathered back onto dx (col2im)
//   weight gradient dw       += dy^T[K/g, rows] @ col         db += column sums of dy
// The NHWC forward without groups (from kMinImplicitChannels channels) is one product over all
// pixels that reads x tap by tap (gemm_conv_nhwc: no im2col tile; f32 rows are broadcast from x
// itself, bf16 / f16 packed). The weight is packed once per call: a pass over w and a write of
// its panels, up to ~8% of the layer's time at ResNet-50's sizes (an upper bound, reached by the
// layers with few pixels and a large weight, 7x7 and 14x14), so nothing is kept between calls and
// an updated weight is always seen. Bias, activation and residual are the product's row epilogue.
// The NCHW forward without groups: a pointwise conv (1x1, stride 1, no padding) is a product per
// image, y[n] [K, H*W] = w [K, C] @ x[n] [C, H*W], reading x where it lies (the bias one value per
// output row); other NCHW convs from kMinImplicitChannels channels turn x, w and the residual
// NHWC into the workspace, run the NHWC product into it and turn its y NCHW: beside the product
// a read and a write of x, y and the residual each (a per-block im2col and a scatter of every
// output to its NCHW place cost more).
// Otherwise the forward runs each block as one thread-pool task, im2col then the product (which,
// called from a task, runs on that thread alone), so the tile never leaves the core's cache; the
// gradients stage larger blocks at the top level for products spread over all workers. Memory:
// each block's col tile (kTaskTileFloats, kStageFloats) is written once and read by the product
// while it is still in cache; x, y and w are read once per block (w once per block and group).
// The product does 2 * M * K/g * red FLOP per group, so at K/g >= 64 the im2col copy is small
// beside it.
// Depthwise convs (one channel per group, one filter per channel) have a reduction of R*S, too
// short for a product: direct loops vectorized over the channels (depthwise_loops.inc, NHWC
// forward and both gradients; NCHW per element).
#include <algorithm>
#include <type_traits>
#include <vector>

#include "conv/conv.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"
#include "conv/conv.h"
#include "gemm/gemm.h"
#include "gemm_cpu.h"
#include "isa.h"

#define DK_ISA_BODY "depthwise_loops.inc"
#include "isa_variants.h"

namespace dk::cpu {
namespace {

// f32 per staging tile. The forward's, one per task (1 MB), stays in its core's L2 while the
// product reads it; but a task takes at least 256 rows, as the product packs its whole weight
// operand once per call and per ~150 rows, which at red = 4608 (3x3x512) costs as much as 50 rows
// of multiply-adds. The gradients stage at the top level for products over all workers (8 MB,
// still in the last-level cache), long enough in the reduction for the weight gradient's
// dy^T @ col.
constexpr int64_t kTaskTileFloats = int64_t(1) << 18, kMinTaskRows = 256, kStageFloats = int64_t(1) << 21;

// NHWC convs without groups read x as the product's left operand directly from this many channels
// on: a tap's C values are one segment of the packing's 4 x 4 transposes (the 3-channel stem
// stages an im2col tile, whose rows are one segment each).
constexpr int64_t kMinImplicitChannels = 16;

int64_t block_rows(int64_t budget, int64_t floats_per_row, int64_t total) {
    return std::clamp<int64_t>(budget / std::max<int64_t>(floats_per_row, 1), 1, std::max<int64_t>(total, 1));
}

// out[m, n] = act(op(a) @ op(b) + bias) + residual, all f32, compact.
void product(const Exec& ex, const float* a, bool trans_a, const float* b, bool trans_b, float* out, int64_t m,
             int64_t n, int64_t k, const void* bias = nullptr, ActParams act = {0, 0.0f, 0.0f},
             const void* residual = nullptr) {
    GemmArgs p{};
    p.a = a;
    p.b = b;
    p.bias = bias;
    p.residual = residual;
    p.out = out;
    p.m = m;
    p.n = n;
    p.k = k;
    p.batch = 1;
    p.act = act;
    p.trans_a = trans_a;
    p.trans_b = trans_b;
    gemm(ex, DType::f32, p);
}

bool is_depthwise(const ConvGeom& g) { return g.groups == g.c && g.groups == g.k; }

// The weight gradient of a depthwise conv gives a task at least this many channels (vectors of them).
constexpr int64_t kDepthwiseChannelChunk = 16;

struct NoActivation {
    float operator()(float x) const { return x; }
};

// The weight as f32 (the product runs in f32 whatever the storage dtype): w itself when it is.
template <typename T>
const float* weight_f32(const void* w, int64_t n, std::vector<float>& copy) {
    if constexpr (std::is_same_v<T, float>) {
        return static_cast<const float*>(w);
    } else {
        copy.resize(size_t(n));
        const T* src = static_cast<const T*>(w);
        parallel_range(n, 4096, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) copy[size_t(i)] = load_float(src[i]);
        });
        return copy.data();
    }
}

// The weight as the forward product's right operand [red, K/g] per group, f32: the product packs
// that layout with contiguous loads, its [K/g, red] transpose with strided ones, and it repacks
// the weight once per call and ~150 rows.
template <typename T>
std::vector<float> weight_by_reduction(const ConvGeom& g, const void* w) {
    const int64_t kgs = g.k / g.groups, red = conv_red(g);
    const T* src = static_cast<const T*>(w);
    std::vector<float> out(size_t(g.k * red));
    parallel_range(g.k, 8, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
            const int64_t grp = k / kgs, kk = k % kgs;
            for (int64_t i = 0; i < red; ++i) out[size_t((grp * red + i) * kgs + kk)] = load_float(src[k * red + i]);
        }
    });
    return out;
}

// col[m - m0, :] = the red inputs output pixel m reads in the group starting at channel c0 (0 in the padding).
template <typename T>
void im2col(const ConvGeom& g, const T* x, int64_t m0, int64_t m1, int64_t c0, float* col) {
    const int64_t cgs = g.c / g.groups, red = conv_red(g);
    // NHWC, all channels, unit column dilation: a filter row's S taps read S * C consecutive x
    // elements into S * C consecutive col elements, one copy (past the padding) per filter row
    const bool runs = g.nhwc && g.groups == 1 && g.dil_w == 1;
    parallel_range(m1 - m0, 8, [&](int64_t b, int64_t e) {
        for (int64_t m = m0 + b; m < m0 + e; ++m) {
            const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
            float* row = col + (m - m0) * red;
            for (int64_t r = 0; r < g.r; ++r) {
                const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
                if (runs) {
                    float* dst = row + r * g.s * g.c;
                    const int64_t w0 = q * g.stride_w - g.pad_w;
                    const int64_t lo = h < 0 || h >= g.h ? g.s : std::clamp<int64_t>(-w0, 0, g.s);
                    const int64_t hi = h < 0 || h >= g.h ? g.s : std::clamp<int64_t>(g.w - w0, lo, g.s);
                    std::fill(dst, dst + lo * g.c, 0.0f);
                    if (hi > lo) {
                        const T* src = x + ((n * g.h + h) * g.w + w0 + lo) * g.c;
                        for (int64_t i = 0; i < (hi - lo) * g.c; ++i) dst[lo * g.c + i] = load_float(src[i]);
                    }
                    std::fill(dst + hi * g.c, dst + g.s * g.c, 0.0f);
                    continue;
                }
                for (int64_t s = 0; s < g.s; ++s) {
                    const int64_t w = q * g.stride_w - g.pad_w + s * g.dil_w;
                    const bool inside = h >= 0 && h < g.h && w >= 0 && w < g.w;
                    if (g.nhwc) {
                        float* dst = row + (r * g.s + s) * cgs;
                        const T* src = x + ((n * g.h + h) * g.w + w) * g.c + c0;
                        if (inside)
                            for (int64_t cg = 0; cg < cgs; ++cg) dst[cg] = load_float(src[cg]);
                        else
                            std::fill(dst, dst + cgs, 0.0f);
                    } else {
                        for (int64_t cg = 0; cg < cgs; ++cg)
                            row[(cg * g.r + r) * g.s + s] =
                                inside ? load_float(x[((n * g.c + c0 + cg) * g.h + h) * g.w + w]) : 0.0f;
                    }
                }
            }
        }
    });
}

// dy's rows m0..m1 and the group's kgs channels from k0 as a compact f32 [rows, kgs] tile: dy
// itself where it already is one (NHWC f32 without groups), else a copy in tile.
template <typename T>
const float* grad_rows(const ConvGeom& g, const T* dy, int64_t m0, int64_t m1, int64_t k0, std::vector<float>& tile) {
    const int64_t kgs = g.k / g.groups;
    if constexpr (std::is_same_v<T, float>)
        if (g.nhwc && g.groups == 1) return dy + m0 * g.k;
    tile.resize(size_t((m1 - m0) * kgs));
    parallel_range(m1 - m0, 16, [&](int64_t b, int64_t e) {
        for (int64_t m = m0 + b; m < m0 + e; ++m) {
            const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
            for (int64_t kk = 0; kk < kgs; ++kk)
                tile[size_t((m - m0) * kgs + kk)] = load_float(dy[conv_y_index(g, n, k0 + kk, p, q)]);
        }
    });
    return tile.data();
}

// act(v + bias[c]) over a [rows, cols] f32 block in place, the forward epilogue where there is
// no residual: the bias and ReLU (the usual fusion) as loops the compiler vectorizes, other
// activations element by element through activate().
template <typename B>
void bias_act(const ConvArgs& a, const B* bias, float* v, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
        float* row = v + r * cols;
        if (bias)
            for (int64_t c = 0; c < cols; ++c) row[c] += load_float(bias[c]);
        if (a.act.kind == DK_ACT_RELU)
            for (int64_t c = 0; c < cols; ++c) row[c] = Relu{}(row[c]);
        else if (a.act.kind)
            for (int64_t c = 0; c < cols; ++c) row[c] = activate(a.act, row[c]);
    }
}

// The depthwise weight [C, R, S, 1] turned tap-major, [R*S][C] f32, so a tap's weights are one vector.
template <typename T>
std::vector<float> tap_major_weight(const ConvGeom& g, const void* w) {
    const int64_t taps = g.r * g.s;
    const T* src = static_cast<const T*>(w);
    std::vector<float> wt(size_t(taps * g.c));
    for (int64_t c = 0; c < g.c; ++c)
        for (int64_t t = 0; t < taps; ++t) wt[size_t(t * g.c + c)] = load_float(src[c * taps + t]);
    return wt;
}

// Depthwise forward: NHWC an output row (n, p) at a time, each filter row's taps added to the
// row's [Q, C] accumulator by depthwise_row; NCHW a channel plane at a time, pixels innermost.
template <typename T>
void depthwise_forward(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const int64_t taps = g.r * g.s;
    if (g.nhwc) {
        const std::vector<float> wt = tap_major_weight<T>(g, a.w);
        parallel_range(g.n * g.p, 1, [&](int64_t b, int64_t e) {
            std::vector<float> acc(size_t(g.q * g.c)), xrow(std::is_same_v<T, float> ? 0 : size_t(g.w * g.c));
            for (int64_t np = b; np < e; ++np) {
                const int64_t n = np / g.p, p = np % g.p;
                std::fill(acc.begin(), acc.end(), 0.0f);
                for (int64_t r = 0; r < g.r; ++r) {
                    const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
                    if (h < 0 || h >= g.h) continue;
                    const T* xs = x + (n * g.h + h) * g.w * g.c;
                    const float* ws = wt.data() + r * g.s * g.c;
                    if constexpr (std::is_same_v<T, float>) {
                        DK_ISA_CALL(depthwise_row, acc.data(), xs, ws, g);
                    } else {
                        for (int64_t i = 0; i < g.w * g.c; ++i) xrow[size_t(i)] = load_float(xs[i]);
                        DK_ISA_CALL(depthwise_row, acc.data(), xrow.data(), ws, g);
                    }
                }
                const int64_t y0 = (n * g.p + p) * g.q * g.c;
                T* y = static_cast<T*>(a.y) + y0;
                if (a.residual) {
                    for (int64_t i = 0; i < g.q * g.c; ++i) conv_store_output<T>(a, acc[size_t(i)], i % g.c, y0 + i);
                } else {
                    bias_act(a, static_cast<const T*>(a.bias), acc.data(), g.q, g.c);
                    for (int64_t i = 0; i < g.q * g.c; ++i) store_float(y[i], acc[size_t(i)]);
                }
            }
        });
    } else {
        parallel_range(g.n * g.c, 1, [&](int64_t b, int64_t e) {
            for (int64_t nc = b; nc < e; ++nc) {
                const int64_t c = nc % g.c;
                const T* plane = x + nc * g.h * g.w;
                for (int64_t p = 0; p < g.p; ++p)
                    for (int64_t q = 0; q < g.q; ++q) {
                        float acc = 0.0f;
                        for (int64_t r = 0; r < g.r; ++r) {
                            const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
                            if (h < 0 || h >= g.h) continue;
                            for (int64_t s = 0; s < g.s; ++s) {
                                const int64_t wc = q * g.stride_w - g.pad_w + s * g.dil_w;
                                if (wc >= 0 && wc < g.w)
                                    acc += load_float(plane[h * g.w + wc]) * load_float(w[c * taps + r * g.s + s]);
                            }
                        }
                        conv_store_output<T>(a, acc, c, (nc * g.p + p) * g.q + q);
                    }
            }
        });
    }
}

// y = act(x (*) w + bias) + residual, NHWC without groups, as gemm_conv_nhwc's one product over
// all output pixels; x, w (NHWC order), residual and y given apart from a.
void implicit_nhwc(DType dtype, const ConvArgs& a, const void* x, const void* w, const void* residual, void* y) {
    const ConvGeom& g = a.g;
    GemmArgs p{};
    p.a = x;
    p.b = w;
    p.bias = a.bias;
    p.residual = residual;
    p.out = y;
    p.m = g.n * g.p * g.q;
    p.n = g.k;
    p.k = conv_red(g);
    p.batch = 1;
    p.act = a.act;
    p.trans_b = true;
    ConvGeom nhwc = g;
    nhwc.nhwc = 1;
    gemm_conv_nhwc(dtype, p, nhwc);
}

// An NCHW pointwise conv without groups is a product per image, y[n] [K, H*W] = w [K, C] @ x[n]
// [C, H*W], with no copy of x: the bias is per output row, the residual laid out as y.
void pointwise_nchw(DType dtype, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    GemmArgs p{};
    p.a = a.w;
    p.b = a.x;
    p.bias = a.bias;
    p.residual = a.residual;
    p.out = a.y;
    p.m = g.k;
    p.n = g.h * g.w;
    p.k = g.c;
    p.batch = g.n;
    p.batch_dims = 1;
    p.batch_shape[0] = g.n;
    p.b_stride[0] = g.c * g.h * g.w;
    p.act = a.act;
    gemm_row_bias(dtype, p);
}

// The NCHW <-> NHWC change of layout: each of `count` [rows, cols] matrices at src into [cols,
// rows] at dst, in kTransposeTile square tiles on the pool (a tile reads and writes whole cache
// lines, both sides of it in L1). One read and one write of every element.
constexpr int64_t kTransposeTile = 32;

template <typename T>
void transpose_matrices(const T* src, T* dst, int64_t count, int64_t rows, int64_t cols) {
    const int64_t tr = (rows + kTransposeTile - 1) / kTransposeTile, tc = (cols + kTransposeTile - 1) / kTransposeTile;
    parallel_range(count * tr * tc, 4, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
            const int64_t z = t / (tr * tc), i0 = t / tc % tr * kTransposeTile, j0 = t % tc * kTransposeTile;
            const int64_t i1 = std::min(rows, i0 + kTransposeTile), j1 = std::min(cols, j0 + kTransposeTile);
            const T* s = src + z * rows * cols;
            T* d = dst + z * rows * cols;
            for (int64_t j = j0; j < j1; ++j)
                for (int64_t i = i0; i < i1; ++i) d[j * rows + i] = s[i * cols + j];
        }
    });
}

// The workspace elements of forward_through_nhwc: x, the weight, y and the residual NHWC; 0 where
// the forward reads its operands where they are.
int64_t nhwc_copy_elements(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    if (g.nhwc || g.groups != 1 || g.c < kMinImplicitChannels || conv_is_pointwise(g)) return 0;
    return g.n * g.c * g.h * g.w + g.k * conv_red(g) + (a.residual ? 2 : 1) * g.n * g.k * g.p * g.q;
}

// An NCHW conv without groups through the NHWC product: x, w and the residual turned NHWC into
// the workspace, the product's y there, then turned NCHW into y. Traffic beside the product: a
// read and a write of x, y and the residual each.
template <typename T>
void forward_through_nhwc(DType dtype, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const int64_t taps = g.r * g.s, pixels = g.p * g.q;
    T* xt = reinterpret_cast<T*>(a.workspace);
    T* wt = xt + g.n * g.c * g.h * g.w;
    T* yt = wt + g.k * conv_red(g);
    T* rt = a.residual ? yt + g.n * g.k * pixels : nullptr;
    transpose_matrices(static_cast<const T*>(a.x), xt, g.n, g.c, g.h * g.w);
    transpose_matrices(static_cast<const T*>(a.w), wt, g.k, g.c, taps);  // [K][C][R*S] -> [K][R*S][C]
    if (rt) transpose_matrices(static_cast<const T*>(a.residual), rt, g.n, g.k, pixels);
    implicit_nhwc(dtype, a, xt, wt, rt, yt);
    transpose_matrices(yt, static_cast<T*>(a.y), g.n, pixels, g.k);
}

template <typename T>
void forward(const Exec& ex, DType dtype, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    if (is_depthwise(g)) return depthwise_forward<T>(a);
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g), M = g.n * g.p * g.q;
    if (!g.nhwc && g.groups == 1 && conv_is_pointwise(g)) return pointwise_nchw(dtype, a);
    if (nhwc_copy_elements(a)) return forward_through_nhwc<T>(dtype, a);
    // one product over all output pixels, its rows read from x while packing (no im2col tile),
    // the weight packed once per call, bias, activation and residual in its store
    if (g.nhwc && g.groups == 1 && g.c >= kMinImplicitChannels) return implicit_nhwc(dtype, a, a.x, a.w, a.residual, a.y);
    const T* x = static_cast<const T*>(a.x);
    const std::vector<float> wt = weight_by_reduction<T>(g, a.w);
    // NHWC f32 without groups: y is the product's own [M, K] output
    const bool into_y = std::is_same_v<T, float> && g.nhwc && g.groups == 1;
    // One task per block of rows and group: its im2col tile, product and epilogue stay in that
    // core's cache (the product, called from a task, runs on it alone). At least one block per worker.
    const int64_t rows = std::min(std::max(kMinTaskRows, block_rows(kTaskTileFloats, red + (into_y ? g.k : kgs), M)),
                                  (M + worker_count() - 1) / worker_count());
    const int64_t blocks = (M + rows - 1) / rows;
    parallel_range(blocks * g.groups, 1, [&](int64_t b, int64_t e) {
        // per-thread and kept between calls: no fresh pages (and their faults) on every call
        thread_local std::vector<float> col, out;
        col.resize(std::max(col.size(), size_t(rows * red)));
        out.resize(std::max(out.size(), into_y ? 0 : size_t(rows * kgs)));
        for (int64_t task = b; task < e; ++task) {
            const int64_t grp = task % g.groups, m0 = task / g.groups * rows, m1 = std::min(M, m0 + rows);
            im2col<T>(g, x, m0, m1, grp * cgs, col.data());
            const float* W = wt.data() + grp * red * kgs;
            if (into_y) {  // the product's epilogue reads the residual (which may be y) before it writes y
                product(ex, col.data(), false, W, false, static_cast<float*>(a.y) + m0 * g.k, m1 - m0, g.k, red, a.bias,
                        a.act, a.residual ? static_cast<const float*>(a.residual) + m0 * g.k : nullptr);
                continue;
            }
            product(ex, col.data(), false, W, false, out.data(), m1 - m0, kgs, red);
            for (int64_t m = m0; m < m1; ++m) {
                const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
                for (int64_t kk = 0; kk < kgs; ++kk) {
                    const int64_t k = grp * kgs + kk;
                    conv_store_output<T>(a, out[size_t((m - m0) * kgs + kk)], k, conv_y_index(g, n, k, p, q));
                }
            }
        }
    });
}

// dx = act(col2im(dy @ w) + bias), one image at a time: its f32 accumulator (dx itself in f32)
// gathers each block's dcol rows, each input row h owned by one task so the adds never race.
template <typename T>
void backward_data(const Exec& ex, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* dy = static_cast<const T*>(a.grad_y);
    T* dx = static_cast<T*>(a.dx);
    if (is_depthwise(g) && g.nhwc) {  // input rows on the pool, channels the vectors
        const std::vector<float> wt = tap_major_weight<T>(g, a.w);
        const auto rows = [&](const auto& act) {
            parallel_range(g.n * g.h, 1, [&](int64_t b, int64_t e) {
                DK_ISA_CALL(depthwise_data_rows<T>, a, wt.data(), b, e, act);
            });
        };
        if (a.act.kind)
            dispatch_activation(a.act, rows);
        else
            rows(NoActivation{});
        return;
    }
    if (is_depthwise(g)) {
        parallel_range(g.n * g.c * g.h * g.w, 256, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) conv_backward_data_at<T>(a, i);
        });
        return;
    }
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g), image = g.c * g.h * g.w;
    std::vector<float> wcopy;
    const float* w = weight_f32<T>(a.w, g.k * red, wcopy);
    constexpr bool f32 = std::is_same_v<T, float>;
    if (f32 && g.nhwc && g.groups == 1 && conv_is_pointwise(g)) {
        // dx [N*H*W, C] = dy [N*P*Q, K] @ w [K, C], bias and activation in the product's epilogue
        product(ex, reinterpret_cast<const float*>(dy), false, w, false, reinterpret_cast<float*>(dx), g.n * g.p * g.q,
                g.c, g.k, a.bias, a.act);
        return;
    }
    // blocks of whole output rows of one image
    const int64_t prows = std::max<int64_t>(1, block_rows(kStageFloats, red + kgs, g.p * g.q) / g.q);
    std::vector<float> dcol(size_t(std::min(prows, g.p) * g.q * red)), tile, acc_copy(f32 ? 0 : size_t(image));
    for (int64_t n = 0; n < g.n; ++n) {
        float* acc = f32 ? reinterpret_cast<float*>(dx) + n * image : acc_copy.data();
        parallel_range(image, 4096, [&](int64_t b, int64_t e) { std::fill(acc + b, acc + e, 0.0f); });
        for (int64_t p0 = 0; p0 < g.p; p0 += prows) {
            const int64_t p1 = std::min(g.p, p0 + prows), m0 = (n * g.p + p0) * g.q, m1 = (n * g.p + p1) * g.q;
            for (int64_t grp = 0; grp < g.groups; ++grp) {
                const int64_t c0 = grp * cgs;
                product(ex, grad_rows<T>(g, dy, m0, m1, grp * kgs, tile), false, w + grp * kgs * red, false, dcol.data(),
                        m1 - m0, red, kgs);
                parallel_range(g.h, 1, [&](int64_t hb, int64_t he) {
                    for (int64_t h = hb; h < he; ++h)
                        for (int64_t r = 0; r < g.r; ++r) {
                            const int64_t hp = h + g.pad_h - r * g.dil_h;
                            if (hp < 0 || hp % g.stride_h != 0) continue;
                            const int64_t p = hp / g.stride_h;
                            if (p < p0 || p >= p1) continue;
                            for (int64_t q = 0; q < g.q; ++q)
                                for (int64_t s = 0; s < g.s; ++s) {
                                    const int64_t wc = q * g.stride_w - g.pad_w + s * g.dil_w;
                                    if (wc < 0 || wc >= g.w) continue;
                                    const float* src = dcol.data() + ((p - p0) * g.q + q) * red;
                                    if (g.nhwc) {
                                        float* dst = acc + (h * g.w + wc) * g.c + c0;
                                        src += (r * g.s + s) * cgs;
                                        for (int64_t cg = 0; cg < cgs; ++cg) dst[cg] += src[cg];
                                    } else {
                                        for (int64_t cg = 0; cg < cgs; ++cg)
                                            acc[((c0 + cg) * g.h + h) * g.w + wc] += src[(cg * g.r + r) * g.s + s];
                                    }
                                }
                        }
                });
            }
        }
        if (!f32 || a.bias || a.act.kind) {
            const T* bias = static_cast<const T*>(a.bias);
            parallel_range(image, 4096, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) {
                    const int64_t c = g.nhwc ? i % g.c : i / (g.h * g.w);
                    store_float(dx[n * image + i], activate(a.act, acc[i] + (bias ? load_float(bias[c]) : 0.0f)));
                }
            });
        }
    }
}

// dw = sum over blocks of dy^T @ col, db = column sums of dy, both accumulated in f32.
template <typename T>
void backward_weight(const Exec& ex, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* dy = static_cast<const T*>(a.grad_y);
    if (is_depthwise(g) && g.nhwc) {
        // chunks of channels on the pool, each summing its channels' every pixel in order
        const int64_t taps = g.r * g.s, chunk = std::max<int64_t>(kDepthwiseChannelChunk, g.c / (4 * worker_count()));
        std::vector<float> dwt(size_t(taps * g.c)), db(size_t(g.c));
        parallel_for((g.c + chunk - 1) / chunk, [&](int64_t t) {
            const int64_t c0 = t * chunk, c1 = std::min(g.c, c0 + chunk);
            std::vector<float> part(size_t(taps * (c1 - c0)));
            DK_ISA_CALL(depthwise_weight_channels<T>, a, c0, c1, part.data(), a.db ? db.data() + c0 : nullptr);
            for (int64_t tap = 0; tap < taps; ++tap)
                for (int64_t c = c0; c < c1; ++c) dwt[size_t(tap * g.c + c)] = part[size_t(tap * (c1 - c0) + c - c0)];
        });
        T* dw = static_cast<T*>(a.dw);
        for (int64_t c = 0; c < g.c; ++c)
            for (int64_t tap = 0; tap < taps; ++tap) store_float(dw[c * taps + tap], dwt[size_t(tap * g.c + c)]);
        if (a.db)
            for (int64_t c = 0; c < g.c; ++c) store_float(static_cast<T*>(a.db)[c], db[size_t(c)]);
        return;
    }
    if (is_depthwise(g)) {
        parallel_range(g.k * conv_red(g), 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) conv_backward_weight_at<T>(a, i);
        });
        if (a.db)
            parallel_range(g.k, 1, [&](int64_t b, int64_t e) {
                for (int64_t k = b; k < e; ++k) conv_backward_bias_at<T>(a, k);
            });
        return;
    }
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g), M = g.n * g.p * g.q;
    constexpr bool f32 = std::is_same_v<T, float>;
    const bool x_is_col = f32 && g.nhwc && g.groups == 1 && conv_is_pointwise(g);
    const int64_t rows = block_rows(kStageFloats, red + kgs, M);
    std::vector<float> col(x_is_col ? 0 : size_t(rows * red)), tile, part(size_t(kgs * red));
    std::vector<float> dw(size_t(g.k * red), 0.0f), db(size_t(g.k), 0.0f);
    for (int64_t m0 = 0; m0 < M; m0 += rows) {
        const int64_t m1 = std::min(M, m0 + rows);
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            const float* B = col.data();
            if (x_is_col)
                B = reinterpret_cast<const float*>(x) + m0 * g.c;
            else
                im2col<T>(g, x, m0, m1, grp * cgs, col.data());
            const float* A = grad_rows<T>(g, dy, m0, m1, grp * kgs, tile);
            product(ex, A, true, B, false, part.data(), kgs, red, m1 - m0);
            float* dwg = dw.data() + grp * kgs * red;
            parallel_range(kgs * red, 4096, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) dwg[i] += part[size_t(i)];
            });
            if (a.db)
                parallel_range(kgs, 16, [&](int64_t b, int64_t e) {
                    for (int64_t m = 0; m < m1 - m0; ++m)
                        for (int64_t kk = b; kk < e; ++kk) db[size_t(grp * kgs + kk)] += A[m * kgs + kk];
                });
        }
    }
    T* out = static_cast<T*>(a.dw);
    parallel_range(g.k * red, 4096, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) store_float(out[i], dw[size_t(i)]);
    });
    if (a.db)
        for (int64_t k = 0; k < g.k; ++k) store_float(static_cast<T*>(a.db)[k], db[size_t(k)]);
}

}  // namespace

void conv2d_forward(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (a.g.n * a.g.k * a.g.p * a.g.q == 0) return;
    dispatch_floating(dtype, [&](auto tag) { forward<typename decltype(tag)::type>(ex, dtype, a); });
}

void conv2d_forward_algorithm(const Exec&, DType, const ConvArgs& a, const char** name) {
    *name = is_depthwise(a.g) ? "direct_depthwise" : "im2col_gemm";
}

void conv2d_forward_workspace(const Exec&, DType dtype, const ConvArgs& a, int64_t* bytes) {
    dispatch_floating(dtype, [&](auto tag) { *bytes = nhwc_copy_elements(a) * int64_t(sizeof(typename decltype(tag)::type)); });
}
void conv2d_backward_data_workspace(const Exec&, DType, const ConvArgs&, int64_t* bytes) { *bytes = 0; }
void conv2d_backward_weight_workspace(const Exec&, DType, const ConvArgs&, int64_t* bytes) { *bytes = 0; }

void conv2d_backward_data(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (a.g.n * a.g.c * a.g.h * a.g.w == 0) return;
    dispatch_floating(dtype, [&](auto tag) { backward_data<typename decltype(tag)::type>(ex, a); });
}

void conv2d_backward_weight(const Exec& ex, DType dtype, const ConvArgs& a) {
    dispatch_floating(dtype, [&](auto tag) { backward_weight<typename decltype(tag)::type>(ex, a); });
}

}  // namespace dk::cpu
