// cpu/resize.cpp - resizing on the cpu backend: the kernels' own axis math (resize/resize.h) by
// output rows for the forward and the pyramid, the element body (resize/resize_bodies.cuh) for the
// backward's gather, on the thread pool.
#include <algorithm>
#include <vector>

#include "deepkern/dispatch.h"
#include "resize/resize.h"
#include "resize/resize_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

// The forward by output rows - (plane, oy) for NCHW, (image, oy) for NHWC, whose channels are the
// innermost loop - with every column's taps computed once per call: the element body's math (same
// taps, weights and summation order) without its per-element index divisions and tap searches.
template <typename T, bool Channels>
static void resize_rows(const T* x, T* out, int64_t n, int64_t c, const InterpAxis& h, const InterpAxis& w) {
    std::vector<int64_t> start(static_cast<size_t>(w.out) + 1), index;
    std::vector<float> weight;
    for (int64_t ox = 0; ox < w.out; ++ox) {
        const InterpAxis::Taps k = w.taps(ox);
        start[size_t(ox)] = int64_t(index.size());
        for (int64_t j = 0; j < k.n; ++j) {
            int64_t i;
            float wt;
            w.tap(k, j, i, wt);
            index.push_back(i);
            weight.push_back(wt);
        }
    }
    start[size_t(w.out)] = int64_t(index.size());
    // NCHW: one lane, a constant the compiler folds into scalar code
    const int64_t lanes = Channels ? c : 1, rows = n * (Channels ? 1 : c) * h.out;
    if (h.mode == InterpMode::nearest || h.mode == InterpMode::nearest_exact) {
        // one tap of weight 1: the element itself, copied without a round trip through f32
        parallel_range(rows, 1, [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                const int64_t oy = r % h.out, img = r / h.out;
                const T* src = x + (img * h.in + h.nearest(oy)) * w.in * lanes;
                T* dst = out + (img * h.out + oy) * w.out * lanes;
                for (int64_t ox = 0; ox < w.out; ++ox)
                    for (int64_t l = 0; l < lanes; ++l) dst[ox * lanes + l] = src[index[size_t(ox)] * lanes + l];
            }
        });
        return;
    }
    parallel_range(rows, 1, [&](int64_t b, int64_t e) {
        // NCHW's one lane in locals, which stay in registers (heap lanes might alias the input)
        std::vector<float> lanes_sum(Channels ? static_cast<size_t>(2 * lanes) : 0);
        float one[2];
        float* const sum = Channels ? lanes_sum.data() : one;
        float* const row = sum + lanes;
        std::vector<const T*> src_rows;  // the row's taps: input rows and their weights
        std::vector<float> wy;
        for (int64_t r = b; r < e; ++r) {
            const int64_t oy = r % h.out, img = r / h.out;
            const InterpAxis::Taps ty = h.taps(oy);
            src_rows.resize(size_t(ty.n));
            wy.resize(size_t(ty.n));
            for (int64_t j = 0; j < ty.n; ++j) {
                int64_t iy;
                h.tap(ty, j, iy, wy[size_t(j)]);
                src_rows[size_t(j)] = x + (img * h.in + iy) * w.in * lanes;
            }
            for (int64_t ox = 0; ox < w.out; ++ox) {
                for (int64_t l = 0; l < lanes; ++l) sum[l] = 0.0f;
                for (int64_t j = 0; j < ty.n; ++j) {
                    for (int64_t l = 0; l < lanes; ++l) row[l] = 0.0f;
                    for (int64_t k = start[size_t(ox)]; k < start[size_t(ox) + 1]; ++k) {
                        const T* src = src_rows[size_t(j)] + index[size_t(k)] * lanes;
                        const float wx = weight[size_t(k)];
                        for (int64_t l = 0; l < lanes; ++l) row[l] += wx * load_float(src[l]);
                    }
                    for (int64_t l = 0; l < lanes; ++l) sum[l] += wy[size_t(j)] * row[l];
                }
                T* dst = out + ((img * h.out + oy) * w.out + ox) * lanes;
                for (int64_t l = 0; l < lanes; ++l) store_float(dst[l], sum[l]);
            }
        }
    });
}

template <typename T>
static void resize_rows(const T* x, T* out, int64_t n, int64_t c, bool nhwc, const InterpAxis& h, const InterpAxis& w) {
    if (nhwc) resize_rows<T, true>(x, out, n, c, h, w);
    else resize_rows<T, false>(x, out, n, c, h, w);
}

void resize_forward(const Exec&, DType dtype, const ResizeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        resize_rows(static_cast<const T*>(a.src), static_cast<T*>(a.dst), a.n, a.c, a.nhwc, a.h, a.w);
    });
}

void resize_backward(const Exec&, DType dtype, const ResizeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        each_element<true>(Resize<typename decltype(tag)::type>::of(a), a.n * a.c * a.h.in * a.w.in);
    });
}

void image_pyramid(const Exec&, DType dtype, const ImagePyramidArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        for (int l = 0; l < a.levels; ++l)
            resize_rows(static_cast<const T*>(a.x), static_cast<T*>(a.out) + a.offset[l], a.n, a.c, a.nhwc, a.h[l], a.w[l]);
    });
}

}  // namespace dk::cpu
