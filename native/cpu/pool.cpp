// cpu/pool.cpp - 2-D pooling and its pyramids on the cpu backend: the kernels' own element bodies
// (pool/pool_bodies.cuh, pool/pyramid_bodies.cuh) over chunks of elements or planes on the thread pool.
#include <cmath>
#include <vector>

#include "deepkern/dispatch.h"
#include "pool/pool.h"
#include "pool/pool_bodies.cuh"
#include "pool/pyramid_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

void pool2d_forward(const Exec&, DType dtype, const PoolArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        each_element<false>(Pool2d<typename decltype(tag)::type>::of(a), a.n * a.c * a.h.out * a.w.out);
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

// Per plane, the three chained pools in two buffers padded with a ring of r -inf (the pools' padding).
void sppf_forward(const Exec&, DType dtype, const PyramidArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto p = Pyramid<T>::of(a);
        const int r = a.kernel / 2;
        const int64_t pitch = a.w + 2 * r, rows = a.h + 2 * r;
        parallel_range(a.n * a.c, 1, [&](int64_t b, int64_t e) {
            std::vector<float> cur(size_t(pitch * rows), -INFINITY), next(cur);
            for (int64_t nc = b; nc < e; ++nc) {
                for (int64_t y = 0; y < a.h; ++y)
                    for (int64_t x = 0; x < a.w; ++x) {
                        const float v = p.load(nc, y, x);
                        cur[(y + r) * pitch + x + r] = v;
                        p.store_stage(nc, 0, y, x, v);
                    }
                for (int s = 1; s <= 3; ++s) {
                    for (int64_t y = 0; y < a.h; ++y)
                        for (int64_t x = 0; x < a.w; ++x) {
                            const float v = window_max(cur.data(), y * pitch + x, pitch, r);
                            next[(y + r) * pitch + x + r] = v;
                            p.store_stage(nc, s, y, x, v);
                        }
                    cur.swap(next);
                }
            }
        });
    });
}

}  // namespace dk::cpu
