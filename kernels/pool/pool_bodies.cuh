// pool_bodies.cuh - 2-D pooling of one output element (forward) and one input element (backward),
// shared by kernels/pool/pool.cu (cuda, emu) and the cpu backend, so the windows, the NaN rule and
// the divisors are one code everywhere.
//
// Forward, output o: max = the largest of o's window (NaN wins: torch's `v > best || isnan(v)`,
// the last NaN's index), its index h * W + w (the first tap inside the image when every value is
// -inf); avg = the window's sum / divisor, the divisor being divisor_override, or the window's size
// with padding (count_include_pad) or without. f16 / bf16 in f32.
// Backward, input i, a gather (no atomics, so deterministic): the sum over the outputs whose
// windows hold i of grad_out (max: only those whose index is i) / divisor.
// Traffic: forward reads each input about (kernel / stride)^2 times through the cache, writes the
// outputs once; backward reads grad_out (and indices) about as often, writes grad_x once.
#pragma once

#include "deepkern/image.cuh"
#include "deepkern/numeric.cuh"
#include "pool/pool.h"

namespace dk {

template <typename T>
struct Pool2d {
    const T* src;
    T* dst;
    int64_t* indices;
    ImageLayout img;
    PoolAxis h, w;
    bool max, count_include_pad;
    int32_t divisor;

    static Pool2d of(const PoolArgs& a) {
        return {static_cast<const T*>(a.src), static_cast<T*>(a.dst), a.indices, {a.c, a.nhwc}, a.h, a.w,
                a.kind == PoolKind::max, a.count_include_pad, a.divisor};
    }

    DK_HD float divide(int64_t oy, int64_t ox) const {
        if (divisor != 0) return float(divisor);
        if (count_include_pad) return float(h.padded(oy) * w.padded(ox));
        int64_t ylo, yhi, xlo, xhi;
        h.inside(oy, ylo, yhi);
        w.inside(ox, xlo, xhi);
        return float((yhi - ylo) * (xhi - xlo));
    }

    DK_HD void forward(int64_t e) const {
        int64_t nc, oy, ox;
        img.split(e, h.out, w.out, nc, oy, ox);
        int64_t ylo, yhi, xlo, xhi;
        h.inside(oy, ylo, yhi);
        w.inside(ox, xlo, xhi);
        const int64_t base = img.plane(nc, h.in, w.in), px = img.pixel();
        const int64_t y0 = h.first(oy), x0 = w.first(ox), sy = h.step(), sx = w.step();
        if (max) {
            float best = -INFINITY;
            int64_t at = ylo < yhi && xlo < xhi ? (y0 + ylo * sy) * w.in + x0 + xlo * sx : -1;
            for (int64_t ty = ylo; ty < yhi; ++ty) {
                const int64_t y = y0 + ty * sy;
                for (int64_t tx = xlo; tx < xhi; ++tx) {
                    const int64_t x = x0 + tx * sx;
                    const float v = load_float(src[base + (y * w.in + x) * px]);
                    if (v > best || v != v) {
                        best = v;
                        at = y * w.in + x;
                    }
                }
            }
            store_float(dst[e], best);
            if (indices) indices[e] = at;
        } else {
            float sum = 0.0f;
            for (int64_t ty = ylo; ty < yhi; ++ty)
                for (int64_t tx = xlo; tx < xhi; ++tx)
                    sum += load_float(src[base + ((y0 + ty * sy) * w.in + x0 + tx * sx) * px]);
            store_float(dst[e], sum / divide(oy, ox));
        }
    }

    DK_HD void backward(int64_t e) const {
        int64_t nc, iy, ix;
        img.split(e, h.in, w.in, nc, iy, ix);
        int64_t oylo, oyhi, oxlo, oxhi;
        h.candidates(iy, oylo, oyhi);
        w.candidates(ix, oxlo, oxhi);
        const int64_t base = img.plane(nc, h.out, w.out), px = img.pixel(), self = iy * w.in + ix;
        float sum = 0.0f;
        for (int64_t oy = oylo; oy <= oyhi; ++oy) {
            if (!h.holds(oy, iy)) continue;
            for (int64_t ox = oxlo; ox <= oxhi; ++ox) {
                if (!w.holds(ox, ix)) continue;
                const int64_t o = base + (oy * w.out + ox) * px;
                if (!max) sum += load_float(src[o]) / divide(oy, ox);
                else if (indices[o] == self) sum += load_float(src[o]);
            }
        }
        store_float(dst[e], sum);
    }
};

}  // namespace dk
