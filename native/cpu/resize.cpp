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
// taps, weights and summation order: along W, then along H) without its per-element index
// divisions and tap searches.
template <typename T, bool Channels>
static void resize_rows(const T* x, T* out, int64_t n, int64_t c, const InterpAxis& h, const InterpAxis& w) {
    if (n * c * h.out * w.out == 0) return;  // nothing to write (the column tables below could still be huge)
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
    // Separable: an input row resampled along W once (row[ox] = sum_k wx_k x[ix_k], the element
    // body's inner sum) serves every output row that taps it - kept in a ring of `slots` rows, row
    // iy in slot iy % slots (a row's taps are consecutive rows, clamped at the borders) - then each
    // output row sums its taps' rows (sum_j wy_j row_j), a contiguous loop the compiler vectorizes.
    int64_t slots = 1;
    for (int64_t oy = 0; oy < h.out; ++oy) slots = std::max(slots, h.taps(oy).n + 1);
    const int64_t width = w.out * lanes;
    parallel_range(rows, 1, [&](int64_t b, int64_t e) {
        std::vector<float> ring(static_cast<size_t>(slots * width));
        std::vector<int64_t> held(static_cast<size_t>(slots), -1);  // the input row (img * h.in + iy) in each slot
        std::vector<const float*> tap_rows;
        std::vector<float> wy, sum(static_cast<size_t>(width));
        for (int64_t r = b; r < e; ++r) {
            const int64_t oy = r % h.out, img = r / h.out;
            const InterpAxis::Taps ty = h.taps(oy);
            tap_rows.resize(size_t(ty.n));
            wy.resize(size_t(ty.n));
            for (int64_t j = 0; j < ty.n; ++j) {
                int64_t iy;
                h.tap(ty, j, iy, wy[size_t(j)]);
                const int64_t key = img * h.in + iy, slot = iy % slots;
                float* dst = ring.data() + slot * width;
                if (held[size_t(slot)] != key) {
                    held[size_t(slot)] = key;
                    const T* src = x + key * w.in * lanes;
                    for (int64_t ox = 0; ox < w.out; ++ox) {
                        float* acc = dst + ox * lanes;
                        for (int64_t l = 0; l < lanes; ++l) acc[l] = 0.0f;
                        for (int64_t k = start[size_t(ox)]; k < start[size_t(ox) + 1]; ++k) {
                            const T* tap = src + index[size_t(k)] * lanes;
                            const float wx = weight[size_t(k)];
                            for (int64_t l = 0; l < lanes; ++l) acc[l] += wx * load_float(tap[l]);
                        }
                    }
                }
                tap_rows[size_t(j)] = dst;
            }
            float* const acc = sum.data();
            for (int64_t q = 0; q < width; ++q) acc[q] = 0.0f;
            for (int64_t j = 0; j < ty.n; ++j) {
                const float* row = tap_rows[size_t(j)];
                const float wj = wy[size_t(j)];
                for (int64_t q = 0; q < width; ++q) acc[q] += wj * row[q];
            }
            T* dst = out + (img * h.out + oy) * width;
            for (int64_t q = 0; q < width; ++q) store_float(dst[q], acc[q]);
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
