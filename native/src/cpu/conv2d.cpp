// cpu/conv2d.cpp - 2-D convolution on the cpu backend: plain loops over output elements on the
// thread pool, each element the direct sum of deepkern/conv.cuh (the gradients share their bodies
// with the kernels; the forward sum is direct here, tiled in kernels/conv2d.cu).
#include "deepkern/conv.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"

namespace dk::cpu {

void conv2d_forward(const Exec&, DType dtype, const ConvArgs& a) {
    const ConvGeom& g = a.g;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(g.n * g.k * g.p * g.q, 256, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                // i walks the output in its own layout
                int64_t n, k, p, q;
                conv_unflatten(g.nhwc, i, g.k, g.p, g.q, n, k, p, q);
                conv_store_output<T>(a, conv_forward_at<T>(a, n, k, p, q), k, i);
            }
        });
    });
}

void conv2d_forward_algorithm(const Exec&, DType, const ConvArgs&, const char** name) { *name = "direct"; }

void conv2d_backward_data(const Exec&, DType dtype, const ConvArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(a.g.n * a.g.c * a.g.h * a.g.w, 256, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) conv_backward_data_at<T>(a, i);
        });
    });
}

void conv2d_backward_weight(const Exec&, DType dtype, const ConvArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(a.g.k * conv_red(a.g), 16, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) conv_backward_weight_at<T>(a, i);
        });
        if (a.db)
            for (int64_t k = 0; k < a.g.k; ++k) conv_backward_bias_at<T>(a, k);
    });
}

}  // namespace dk::cpu
