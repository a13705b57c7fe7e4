// conv2d_depthwise.cu - the direct forward of depthwise convolution (groups == C, K = C * mult):
// y[n, k, p, q] = act(sum_(r, s) x[n, k / mult, p stride - pad + r dil, ...] w[k, r, s] + b[k]) + res,
// any dtype (f32 math), kernel, stride and dilation, with conv2d.cu's fused epilogue.
//
// Each output is only R S multiply-adds, so this is a memory-bound stencil, not a GEMM: the
// implicit GEMM would spend a 64-wide tile on one channel.
//   NHWC: channels fastest across the threads, so consecutive threads read consecutive channels
//         of each input pixel and write consecutive outputs; the R S filter taps of a channel stay
//         in L1 across the pixels. With one filter per channel (K == C), C a multiple of the
//         16-byte pack and aligned tensors, each thread takes a whole pack of channels (4 f32, 8
//         bf16 / f16): one 16-byte load per tap, one 16-byte residual load and store per output;
//         otherwise one output per thread.
//   NCHW: one block per 8 x 32 tile of one output plane: the input window it reads (the tile
//         plus its halo, (8 - 1) stride + (R - 1) dil + 1 rows by likewise columns) and the
//         plane's R S filter are staged once in shared memory, so each input element is read from
//         global memory once per plane tile instead of up to R S times. Where the window would not
//         fit in kDwSharedMax bytes (huge dilated filters), NCHW takes the per-output kernel too.
// FLOPs 2 N K P Q R S. Memory traffic: x about once per filter multiplier (plus the halos), y (+
// residual) once.
#include "deepkern/portable.cuh"
#include "conv/conv.cuh"
#include "conv/conv_paths.h"
#include "deepkern/dispatch.h"
#include "deepkern/packs.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {
constexpr int kDwTileP = 8, kDwTileQ = 32, kDwThreads = kDwTileP * kDwTileQ;
constexpr size_t kDwSharedMax = 32 * 1024;

// The input window of one NCHW output tile.
int64_t window_rows(const ConvGeom& g) { return (kDwTileP - 1) * g.stride_h + (g.r - 1) * g.dil_h + 1; }
int64_t window_cols(const ConvGeom& g) { return (kDwTileQ - 1) * g.stride_w + (g.s - 1) * g.dil_w + 1; }
}  // namespace

template <typename T>
__global__ void conv2d_depthwise_flat_kernel(ConvArgs a, int64_t total) {
    const ConvGeom g = a.g;
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        int64_t n, k, p, q;
        conv_unflatten(g.nhwc, i, g.k, g.p, g.q, n, k, p, q);
        conv_store_output<T>(a, conv_forward_at<T>(a, n, k, p, q), k, i);
    }
}

// NHWC, K == C: thread i takes channels c .. c + V - 1 of output pixel m, i = m * C / V + c / V.
template <typename T>
__global__ void conv2d_depthwise_packed_kernel(ConvArgs a, int64_t total) {
    constexpr int V = Pack16<T>::size;
    const ConvGeom g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const int64_t packs = g.c / V, taps = g.r * g.s;
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const int64_t c = i % packs * V, m = i / packs;
        const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
        Floats<V> acc;
        for (int v = 0; v < V; ++v) acc.v[v] = 0.0f;
        conv_for_each_tap(g, p, q, [&](int64_t r, int64_t s, int64_t h, int64_t wc) {
            const Floats<V> xv = load<V>(x + conv_x_index(g, n, c, h, wc));
            DK_UNROLL
            for (int v = 0; v < V; ++v) acc.v[v] = fmaf(xv.v[v], load_float(w[(c + v) * taps + r * g.s + s]), acc.v[v]);
        });
        // conv_store_output's epilogue, a pack at a time
        const int64_t yi = conv_y_index(g, n, c, p, q);
        Floats<V> res{};
        if (a.residual) res = load<V>(static_cast<const T*>(a.residual) + yi);
        DK_UNROLL
        for (int v = 0; v < V; ++v) {
            float o = acc.v[v];
            if (a.bias) o += load_float(static_cast<const T*>(a.bias)[c + v]);
            o = activate(a.act, o);
            acc.v[v] = a.residual ? o + res.v[v] : o;
        }
        store<V>(static_cast<T*>(a.y) + yi, acc);
    }
}

template <typename T>
__global__ void conv2d_depthwise_nchw_kernel(ConvArgs a, int64_t tiles_q, int64_t rows, int64_t cols) {
    DK_DYNAMIC_SHARED(float, smem);  // the input window [rows][cols], then the filter [R][S]
    const ConvGeom g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const int64_t mult = g.k / g.c, taps = g.r * g.s, window = rows * cols;
    const int tid = threadIdx.x, tp = tid / kDwTileQ, tq = tid % kDwTileQ;
    const int64_t p0 = int64_t(blockIdx.x) / tiles_q * kDwTileP, q0 = int64_t(blockIdx.x) % tiles_q * kDwTileQ;
    const int64_t h0 = p0 * g.stride_h - g.pad_h, w0 = q0 * g.stride_w - g.pad_w;
    for (int64_t plane = blockIdx.y; plane < g.n * g.k; plane += gridDim.y) {
        const int64_t n = plane / g.k, k = plane % g.k;
        const T* xc = x + (n * g.c + k / mult) * g.h * g.w;
        // consecutive threads along a window row: consecutive input columns
        for (int64_t e = tid; e < window; e += kDwThreads) {
            const int64_t h = h0 + e / cols, wc = w0 + e % cols;
            smem[e] = h >= 0 && h < g.h && wc >= 0 && wc < g.w ? load_float(xc[h * g.w + wc]) : 0.0f;
        }
        for (int64_t e = tid; e < taps; e += kDwThreads) smem[window + e] = load_float(w[k * taps + e]);
        __syncthreads();
        const int64_t p = p0 + tp, q = q0 + tq;
        if (p < g.p && q < g.q) {
            float acc = 0.0f;
            for (int64_t r = 0; r < g.r; ++r) {
                const int64_t row = (tp * g.stride_h + r * g.dil_h) * cols + tq * g.stride_w;
                for (int64_t s = 0; s < g.s; ++s) acc = fmaf(smem[row + s * g.dil_w], smem[window + r * g.s + s], acc);
            }
            conv_store_output<T>(a, acc, k, conv_y_index(g, n, k, p, q));
        }
        __syncthreads();  // the window is refilled for the next plane
    }
}

bool conv2d_depthwise_eligible(const ConvArgs& a) { return a.g.groups == a.g.c; }

bool conv2d_forward_depthwise(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (!conv2d_depthwise_eligible(a)) return false;
    const ConvGeom& g = a.g;
    const int64_t total = g.n * g.k * g.p * g.q;
    if (total == 0) return true;
    // each factor bounded before the product: a huge stride or dilation must not wrap it around
    const int64_t rows = window_rows(g), cols = window_cols(g), most = int64_t(kDwSharedMax / sizeof(float));
    const bool small = rows <= most && cols <= most && g.r * g.s <= most;
    const size_t shared = small ? size_t(rows * cols + g.r * g.s) * sizeof(float) : kDwSharedMax + 1;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (!g.nhwc && shared <= kDwSharedMax) {
            const int64_t tiles_q = (g.q + kDwTileQ - 1) / kDwTileQ, tiles = (g.p + kDwTileP - 1) / kDwTileP * tiles_q;
            const int64_t planes = g.n * g.k;
            launch(ex, "conv2d_depthwise_nchw", conv2d_depthwise_nchw_kernel<T>,
                   dim3(unsigned(tiles), unsigned(planes < 65535 ? planes : 65535)), dim3(kDwThreads), shared, a,
                   tiles_q, rows, cols);
        } else if (g.nhwc && g.k == g.c && packable<T>(g.c, {a.x, a.y}) && (!a.residual || aligned16({a.residual}))) {
            const int64_t packs = total / Pack16<T>::size;
            launch(ex, "conv2d_depthwise_packed", conv2d_depthwise_packed_kernel<T>, dim3(grid_for(ex, packs, 256)),
                   dim3(256), 0, a, packs);
        } else {
            launch(ex, "conv2d_depthwise", conv2d_depthwise_flat_kernel<T>, dim3(grid_for(ex, total, 256)), dim3(256),
                   0, a, total);
        }
    });
    return true;
}

}  // namespace DK_BACKEND
}  // namespace dk
