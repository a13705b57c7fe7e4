// pyramid_bodies.cuh - the element math of the pooling pyramids (pool.h PyramidArgs), shared by
// kernels/pool/pyramid.cu (cuda, emu) and the cpu backend: where an element of x and of each
// output lives, an SPP bin's max, and the line max of SPPF's separable pools. The max
// follows max pooling's NaN rule (`v > best || v != v`), so the pyramids equal their pools.
#pragma once

#include "deepkern/image.cuh"
#include "deepkern/numeric.cuh"
#include "pool/pool.h"

namespace dk {

template <typename T>
struct Pyramid {
    const T* x;
    T* out;
    int64_t c, h, w;
    bool nhwc;
    int32_t kernel, levels;
    int32_t size[kMaxPyramidLevels];
    int64_t bins;

    static Pyramid of(const PyramidArgs& a) {
        Pyramid p{static_cast<const T*>(a.x), static_cast<T*>(a.out), a.c, a.h, a.w, a.nhwc, a.kernel, a.levels, {}, a.bins};
        for (int l = 0; l < kMaxPyramidLevels; ++l) p.size[l] = a.size[l];
        return p;
    }

    // x's element (y, x) of plane nc = n * C + c.
    DK_HD float load(int64_t nc, int64_t y, int64_t xx) const {
        return load_float(x[ImageLayout{c, nhwc}.at(nc, y, xx, h, w)]);
    }

    // SPPF: stage s (0 = x itself) of plane nc at (y, x): channel s * C + c of out [N, 4C, H, W].
    DK_HD void store_stage(int64_t nc, int s, int64_t y, int64_t xx, float v) const {
        const int64_t n = nc / c, ch = s * c + nc % c;
        store_float(out[nhwc ? ((n * h + y) * w + xx) * 4 * c + ch : ((n * 4 * c + ch) * h + y) * w + xx], v);
    }

    // SPP: bin b of plane nc (b < bins, levels in order, each row-major) into out [N, C * bins],
    // read from the plane staged as f32 [H, W] (or from x where staged is null).
    DK_HD void spp_bin(int64_t nc, int64_t b, const float* staged) const {
        // b's level: g its grid size, before the bins of the earlier levels (an unrolled walk, so
        // size[] stays in the parameter space instead of a local copy)
        int64_t before = 0, g = 0;
        DK_UNROLL
        for (int l = 0; l < kMaxPyramidLevels; ++l) {
            const int64_t here = int64_t(size[l]) * size[l];
            if (g == 0 && l < levels) {
                if (b - before < here) g = size[l];
                else before += here;
            }
        }
        const int64_t i = (b - before) / g, j = (b - before) % g;
        const PoolAxis ay{h, g, 0, 1, 0, 1, true}, ax{w, g, 0, 1, 0, 1, true};
        const int64_t y0 = ay.first(i), y1 = y0 + ay.taps(i), x0 = ax.first(j), x1 = x0 + ax.taps(j);
        float best = -INFINITY;
        for (int64_t y = y0; y < y1; ++y)
            for (int64_t xx = x0; xx < x1; ++xx) {
                const float v = staged ? staged[y * w + xx] : load(nc, y, xx);
                if (v > best || v != v) best = v;
            }
        const int64_t n = nc / c, ch = nc % c;
        store_float(out[n * c * bins + c * before + (ch * g + i) * g + j], best);
    }
};

// The max of the 2r + 1 elements buf[at], buf[at + step], ... (NaN wins).
DK_HD float line_max(const float* buf, int64_t at, int64_t step, int r) {
    float best = -INFINITY;
    for (int d = 0; d <= 2 * r; ++d) {
        const float v = buf[at + d * step];
        if (v > best || v != v) best = v;
    }
    return best;
}

}  // namespace dk
