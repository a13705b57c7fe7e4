// conv2d.cu - 2-D convolution: forward with a fused epilogue, data and weight gradients (the data
// gradient also serves the transposed conv), NCHW and NHWC, any stride / padding / dilation /
// groups, f32 / f16 / bf16 storage with f32 math.
//
// Forward is an implicit GEMM per group: out[m, k] = sum_red A[m, red] * W[k, red] with
// m = (n, p, q) the N*P*Q output pixels, k the K/g output channels of the group and
// red = (c, r, s) the C/g*R*S filter taps. A is the im2col matrix, never stored: each 64 x 16 tile
// of it is gathered from x into shared memory on the fly (zeros for padding and the ragged edges),
// the 16 x 64 tile of W beside it, and 256 threads each accumulate a 4 x 4 block of the 64 x 64
// output tile in registers with FMAs. The epilogue adds bias, applies the activation (by runtime
// kind, deepkern/conv.cuh) and adds the residual before the single store.
// FLOPs 2 N P Q K C/g R S. Memory traffic: x once per 64 output channels of a group (R*S-fold reuse
// through the tile is left to the caches), W once per 64 output pixels, out (+ residual) once.
//
// bf16 / f16 NHWC with C/groups % 8 == 0 goes to the tensor-core kernel of conv2d_mma.cu instead.
//
// The gradients are direct: one thread per element of dx (summing the R*S*K/g outputs that read
// it) or of dw (summing over N*P*Q), bodies shared with the cpu backend. They are correct for every
// shape, not tuned: dw's threads each walk all of N*P*Q.
#include "deepkern/portable.cuh"
#include "deepkern/conv.cuh"
#include "deepkern/conv_mma.h"
#include "deepkern/dispatch.h"

namespace dk {
namespace DK_BACKEND {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kThreadM = 4, kThreadN = 4;
constexpr int kConvThreads = (kTileM / kThreadM) * (kTileN / kThreadN);  // 256

template <typename T>
__global__ void conv2d_forward_kernel(ConvArgs a) {
    __shared__ float tile_a[kTileK][kTileM];
    __shared__ float tile_w[kTileK][kTileN];
    const ConvGeom g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const int64_t m_total = g.n * g.p * g.q;
    const int64_t kgs = g.k / g.groups, cgs = g.c / g.groups, red = conv_red(g);
    const int tid = threadIdx.x, tx = tid % (kTileN / kThreadN), ty = tid / (kTileN / kThreadN);
    const int64_t m0 = int64_t(blockIdx.x) * kTileM, k0 = int64_t(blockIdx.y) * kTileN;
    for (int64_t grp = blockIdx.z; grp < g.groups; grp += gridDim.z) {
        float acc[kThreadM][kThreadN];
        DK_UNROLL
        for (int i = 0; i < kThreadM; ++i)
            DK_UNROLL
            for (int j = 0; j < kThreadN; ++j) acc[i][j] = 0.0f;
        for (int64_t r0 = 0; r0 < red; r0 += kTileK) {
            // the im2col tile: consecutive threads take consecutive output pixels
            for (int e = tid; e < kTileK * kTileM; e += kConvThreads) {
                const int kk = e / kTileM, mm = e % kTileM;
                const int64_t m = m0 + mm, rr = r0 + kk;
                float v = 0.0f;
                int64_t xi;
                if (m < m_total && rr < red && conv_tap(g, m, rr, grp * cgs, xi)) v = load_float(x[xi]);
                tile_a[kk][mm] = v;
            }
            // the weight tile: consecutive threads take consecutive taps of one filter
            for (int e = tid; e < kTileK * kTileN; e += kConvThreads) {
                const int kk = e % kTileK, nn = e / kTileK;
                const int64_t k = k0 + nn, rr = r0 + kk;
                tile_w[kk][nn] = (k < kgs && rr < red) ? load_float(w[(grp * kgs + k) * red + rr]) : 0.0f;
            }
            __syncthreads();
            DK_UNROLL
            for (int kk = 0; kk < kTileK; ++kk) {
                float av[kThreadM], wv[kThreadN];
                DK_UNROLL
                for (int i = 0; i < kThreadM; ++i) av[i] = tile_a[kk][ty * kThreadM + i];
                DK_UNROLL
                for (int j = 0; j < kThreadN; ++j) wv[j] = tile_w[kk][tx * kThreadN + j];
                DK_UNROLL
                for (int i = 0; i < kThreadM; ++i)
                    DK_UNROLL
                    for (int j = 0; j < kThreadN; ++j) acc[i][j] = fmaf(av[i], wv[j], acc[i][j]);
            }
            __syncthreads();
        }
        DK_UNROLL
        for (int i = 0; i < kThreadM; ++i) {
            const int64_t m = m0 + ty * kThreadM + i;
            if (m >= m_total) continue;
            const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
            DK_UNROLL
            for (int j = 0; j < kThreadN; ++j) {
                const int64_t k = k0 + tx * kThreadN + j;
                if (k >= kgs) continue;
                const int64_t kg = grp * kgs + k;
                conv_store_output<T>(a, acc[i][j], kg, conv_y_index(g, n, kg, p, q));
            }
        }
    }
}

template <typename T>
__global__ void conv2d_backward_data_kernel(ConvArgs a, int64_t total) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
        conv_backward_data_at<T>(a, i);
}

template <typename T>
__global__ void conv2d_backward_weight_kernel(ConvArgs a, int64_t total) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
        conv_backward_weight_at<T>(a, i);
}

template <typename T>
__global__ void conv2d_backward_bias_kernel(ConvArgs a) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < a.g.k; k += stride)
        conv_backward_bias_at<T>(a, k);
}

void conv2d_forward_algorithm(const Exec&, DType dtype, const ConvArgs& a, const char** name) {
    *name = conv2d_mma_eligible(dtype, a) ? "implicit_gemm_mma" : "implicit_gemm_fma";
}

void conv2d_forward(const Exec& ex, DType dtype, const ConvArgs& a) {
    if (conv2d_forward_mma(ex, dtype, a)) return;  // bf16 / f16 NHWC on tensor cores (conv2d_mma.cu)
    const int64_t m_total = a.g.n * a.g.p * a.g.q, kgs = a.g.k / a.g.groups;
    if (m_total == 0 || kgs == 0) return;
    const dim3 grid(unsigned((m_total + kTileM - 1) / kTileM), unsigned((kgs + kTileN - 1) / kTileN),
                    unsigned(a.g.groups < 65535 ? a.g.groups : 65535));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "conv2d_forward", conv2d_forward_kernel<T>, grid, dim3(kConvThreads), 0, a);
    });
}

void conv2d_backward_data(const Exec& ex, DType dtype, const ConvArgs& a) {
    const int64_t total = a.g.n * a.g.c * a.g.h * a.g.w;
    if (total == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "conv2d_backward_data", conv2d_backward_data_kernel<T>, dim3(grid_for(ex, total, 256)), dim3(256),
               0, a, total);
    });
}

void conv2d_backward_weight(const Exec& ex, DType dtype, const ConvArgs& a) {
    const int64_t total = a.g.k * conv_red(a.g);
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (total > 0)
            launch(ex, "conv2d_backward_weight", conv2d_backward_weight_kernel<T>, dim3(grid_for(ex, total, 256)),
                   dim3(256), 0, a, total);
        if (a.db && a.g.k > 0)
            launch(ex, "conv2d_backward_bias", conv2d_backward_bias_kernel<T>, dim3(grid_for(ex, a.g.k, 256)),
                   dim3(256), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
