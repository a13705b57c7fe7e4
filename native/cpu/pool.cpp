// cpu/pool.cpp - 2-D pooling and its pyramids on the cpu backend: the kernels' own window math
// (pool/pool.h) by output rows for the forward, the element bodies (pool/pool_bodies.cuh,
// pool/pyramid_bodies.cuh) for the backward's gather and the pyramids, on the thread pool.
#include <algorithm>
#include <cmath>
#include <vector>

#include "deepkern/dispatch.h"
#include "pool/pool.h"
#include "pool/pool_bodies.cuh"
#include "pool/pyramid_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

// The forward by output rows - (plane, oy) for NCHW, (image, oy) for NHWC, whose channels are the
// innermost loop - with each column's taps found once per call: the element body's math (same
// taps, same order, same NaN rule and divisors) without its per-element index divisions.
template <typename T, bool Channels>
static void pool2d_rows(const PoolArgs& a) {
    const Pool2d<T> p = Pool2d<T>::of(a);
    const PoolAxis& h = a.h;
    const PoolAxis& w = a.w;
    if (a.n * a.c * h.out * w.out == 0) return;  // nothing to write (the column tables below could still be huge)
    std::vector<int64_t> xlo(static_cast<size_t>(w.out)), xhi(static_cast<size_t>(w.out));
    for (int64_t ox = 0; ox < w.out; ++ox) w.inside(ox, xlo[size_t(ox)], xhi[size_t(ox)]);
    // NCHW: one lane, a constant the compiler folds into scalar code
    const int64_t lanes = Channels ? a.c : 1, rows = a.n * (Channels ? 1 : a.c) * h.out;
    const bool max = a.kind == PoolKind::max;
    parallel_range(rows, 1, [&](int64_t b, int64_t e) {
        // NCHW's one lane in locals, which stay in registers (heap lanes might alias the input)
        std::vector<float> acc_lanes(Channels ? static_cast<size_t>(lanes) : 0);
        std::vector<int64_t> at_lanes(Channels ? static_cast<size_t>(lanes) : 0);
        float acc_one[1];
        int64_t at_one[1];
        float* const acc = Channels ? acc_lanes.data() : acc_one;
        int64_t* const at = Channels ? at_lanes.data() : at_one;
        for (int64_t r = b; r < e; ++r) {
            const int64_t oy = r % h.out, img = r / h.out;
            int64_t ylo, yhi;
            h.inside(oy, ylo, yhi);
            const int64_t y0 = h.first(oy), sy = h.step(), sx = w.step();
            for (int64_t ox = 0; ox < w.out; ++ox) {
                const int64_t x0 = w.first(ox), lo = xlo[size_t(ox)], hi = xhi[size_t(ox)];
                const int64_t first = ylo < yhi && lo < hi ? (y0 + ylo * sy) * w.in + x0 + lo * sx : -1;
                for (int64_t l = 0; l < lanes; ++l) {
                    acc[l] = max ? -INFINITY : 0.0f;
                    at[l] = first;
                }
                for (int64_t ty = ylo; ty < yhi; ++ty) {
                    const int64_t y = y0 + ty * sy;
                    for (int64_t tx = lo; tx < hi; ++tx) {
                        const int64_t x = x0 + tx * sx;
                        const T* src = p.src + ((img * h.in + y) * w.in + x) * lanes;
                        for (int64_t l = 0; l < lanes; ++l) {
                            const float v = load_float(src[l]);
                            if (!max) acc[l] += v;
                            else if (v > acc[l] || v != v) {
                                acc[l] = v;
                                at[l] = y * w.in + x;
                            }
                        }
                    }
                }
                const float divisor = max ? 1.0f : p.divide(oy, ox);
                const int64_t o = ((img * h.out + oy) * w.out + ox) * lanes;
                for (int64_t l = 0; l < lanes; ++l) {
                    store_float(p.dst[o + l], max ? acc[l] : acc[l] / divisor);
                    if (max && p.indices) p.indices[o + l] = at[l];
                }
            }
        }
    });
}

void pool2d_forward(const Exec&, DType dtype, const PoolArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (a.nhwc) pool2d_rows<T, true>(a);
        else pool2d_rows<T, false>(a);
    });
}

void pool2d_backward(const Exec&, DType dtype, const PoolArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        each_element<true>(Pool2d<typename decltype(tag)::type>::of(a), a.n * a.c * a.h.in * a.w.in);
    });
}

void spp_forward(const Exec&, DType dtype, const PyramidArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto p = Pyramid<T>::of(a);
        parallel_range(a.n * a.c * a.bins, 1 << 10, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) p.spp_bin(i / a.bins, i % a.bins, nullptr);
        });
    });
}

// Per plane, the three chained pools in two buffers padded with a ring of r -inf (the pools'
// padding), each pool separable as on the GPU: row maxima, then column maxima of those.
void sppf_forward(const Exec&, DType dtype, const PyramidArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto p = Pyramid<T>::of(a);
        const int r = a.kernel / 2;
        const int64_t pitch = a.w + 2 * r, rows = a.h + 2 * r;
        parallel_range(a.n * a.c, 1, [&](int64_t b, int64_t e) {
            std::vector<float> cur(size_t(pitch * rows), -INFINITY), next(cur), row_max(size_t(rows * a.w));
            for (int64_t nc = b; nc < e; ++nc) {
                for (int64_t y = 0; y < a.h; ++y)
                    for (int64_t x = 0; x < a.w; ++x) {
                        const float v = p.load(nc, y, x);
                        cur[size_t((y + r) * pitch + x + r)] = v;
                        p.store_stage(nc, 0, y, x, v);
                    }
                for (int s = 1; s <= 3; ++s) {
                    for (int64_t y = 0; y < rows; ++y)
                        for (int64_t x = 0; x < a.w; ++x) row_max[size_t(y * a.w + x)] = line_max(cur.data(), y * pitch + x, 1, r);
                    for (int64_t y = 0; y < a.h; ++y)
                        for (int64_t x = 0; x < a.w; ++x) {
                            const float v = line_max(row_max.data(), y * a.w + x, a.w, r);
                            next[size_t((y + r) * pitch + x + r)] = v;
                            p.store_stage(nc, s, y, x, v);
                        }
                    cur.swap(next);
                }
            }
        });
    });
}

}  // namespace dk::cpu
