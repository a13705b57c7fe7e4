// resize_bodies.cuh - one element of a resize (resize.h), shared by kernels/resize/resize.cu (cuda,
// emu) and the cpu backend. The resize is separable: out[oy, ox] = sum over the taps of oy and ox
// of wy * wx * x[iy, ix] (f32 math). The backward is its transpose as a gather, so deterministic:
// grad_x[iy, ix] = sum over the outputs reading it (InterpAxis::readers) of wy * wx * grad_out,
// a tap's weight counted once per time output o names input i (border repeats add up).
// Traffic: each output reads its taps (1, 4 or 16 for nearest / bilinear / bicubic; more when
// antialiasing a downscale) through the cache and is written once.
#pragma once

#include "deepkern/image.cuh"
#include "deepkern/numeric.cuh"
#include "resize/resize.h"

namespace dk {

template <typename T>
struct Resize {
    const T* src;
    T* dst;
    ImageLayout img;
    InterpAxis h, w;

    static Resize of(const ResizeArgs& a) {
        return {static_cast<const T*>(a.src), static_cast<T*>(a.dst), {a.c, a.nhwc}, a.h, a.w};
    }

    DK_HD void forward(int64_t e) const {
        int64_t nc, oy, ox;
        img.split(e, h.out, w.out, nc, oy, ox);
        const int64_t base = img.plane(nc, h.in, w.in), px = img.pixel();
        const InterpAxis::Taps ty = h.taps(oy), tx = w.taps(ox);
        float sum = 0.0f;
        for (int64_t j = 0; j < ty.n; ++j) {
            int64_t iy;
            float wy;
            h.tap(ty, j, iy, wy);
            float row = 0.0f;
            for (int64_t k = 0; k < tx.n; ++k) {
                int64_t ix;
                float wx;
                w.tap(tx, k, ix, wx);
                row += wx * load_float(src[base + (iy * w.in + ix) * px]);
            }
            sum += wy * row;
        }
        store_float(dst[e], sum);
    }

    DK_HD void backward(int64_t e) const {
        int64_t nc, iy, ix;
        img.split(e, h.in, w.in, nc, iy, ix);
        int64_t y0, y1, x0, x1;
        h.readers(iy, y0, y1);
        w.readers(ix, x0, x1);
        const int64_t base = img.plane(nc, h.out, w.out), px = img.pixel();
        float sum = 0.0f;
        for (int64_t oy = y0; oy <= y1; ++oy) {
            const float wy = h.weight(oy, iy);
            if (wy == 0.0f) continue;
            float row = 0.0f;
            for (int64_t ox = x0; ox <= x1; ++ox) {
                const float wx = w.weight(ox, ix);
                if (wx != 0.0f) row += wx * load_float(src[base + (oy * w.out + ox) * px]);
            }
            sum += wy * row;
        }
        store_float(dst[e], sum);
    }
};

}  // namespace dk
