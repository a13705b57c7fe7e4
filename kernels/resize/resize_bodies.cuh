// resize_bodies.cuh - one element of a resize (resize.h), shared by kernels/resize/resize.cu (cuda,
// emu) and the cpu backend. The resize is separable: out[oy, ox] = sum over the taps of oy and ox
// of wy * wx * x[iy, ix] (f32 math). The backward is its transpose as a gather, so deterministic:
// grad_x[iy, ix] = sum over the outputs reading it (InterpAxis::readers) of wy * wx * grad_out,
// a tap's weight counted once per time output o names input i (border repeats add up).
// The forward walks output rows, so a row's vertical taps are found once and an element's index
// costs no division (NHWC: one, for its channel).
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

    // The rows of the output: (plane, oy) for NCHW, (image, oy) for NHWC; a row's elements are its
    // columns (NCHW) or its (column, channel) pairs (NHWC).
    DK_HD int64_t rows(int64_t n) const { return n * (img.nhwc ? 1 : img.c) * h.out; }
    DK_HD int64_t row_length() const { return w.out * img.pixel(); }

    // Element i of output row r, whose vertical taps are ty = h.taps<K>(r % h.out); K, where not
    // any, is both axes' kind (a fixed tap count: the loops unroll).
    template <TapKind K = TapKind::any>
    DK_HD void forward(int64_t r, const InterpAxis::Taps& ty, int64_t i) const {
        constexpr int64_t fixed = K == TapKind::nearest ? 1 : K == TapKind::bilinear ? 2 : K == TapKind::bicubic ? 4 : 0;
        const int64_t oy = r % h.out, image = r / h.out, lanes = img.pixel();
        const int64_t ox = img.nhwc ? i / lanes : i, lane = i - ox * lanes;
        const InterpAxis::Taps tx = w.taps<K>(ox);
        const T* plane = src + image * h.in * w.in * lanes + lane;
        const int64_t ny = fixed ? fixed : ty.n, nx = fixed ? fixed : tx.n;
        float sum = 0.0f;
DK_UNROLL
        for (int64_t j = 0; j < ny; ++j) {
            int64_t iy;
            float wy;
            h.tap<K>(ty, j, iy, wy);
            float row = 0.0f;
DK_UNROLL
            for (int64_t k = 0; k < nx; ++k) {
                int64_t ix;
                float wx;
                w.tap<K>(tx, k, ix, wx);
                row += wx * load_float(plane[(iy * w.in + ix) * lanes]);
            }
            sum += wy * row;
        }
        store_float(dst[((image * h.out + oy) * w.out + ox) * lanes + lane], sum);
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
