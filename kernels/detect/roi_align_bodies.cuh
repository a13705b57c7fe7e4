// roi_align_bodies.cuh - RoIAlign's math (torchvision.ops.roi_align), shared by the kernels
// (detect/roi_align.cu; cuda and emu) and the cpu backend (native/cpu/detect.cpp): a roi's geometry
// and sample positions, a sample's bilinear taps, its value (roi_bilinear) and its gradient terms
// (roi_grad_term), one output of the forward, and the backward's gather of one image element (the
// GPU). The cpu computes the same values from the same pieces, each roi's taps found once for all
// channels: its forward sums a bin's samples and its backward scatters them in the order the
// gather adds them.
//
// Bit-identical backends: every product goes through roi_mul, which nvcc may not fuse into a
// neighbouring add (the cpu and emu builds target x86-64 without FMA, so their compilers fuse
// nothing), divisions are IEEE on all three, and every sum runs in one fixed order. So cpu, emu and
// cuda compute the same sample positions, make the same in-or-out decisions at the image's border,
// and return the same bits.
//
// Bounded work: a sample outside [-1, H] x [-1, W] adds exactly 0 (torchvision does not read the
// image there), so the loops visit only the samples that may lie inside, found by binary searches
// over the positions (non-decreasing in the bin and sample index when the bin size is > 0). A huge
// roi (an adaptive grid of millions of samples) costs what the image holds, not its grid.
#pragma once

#include <cmath>
#include <cstdint>

#include "deepkern/numeric.cuh"
#include "detect/detect.h"

namespace dk {

// a * b rounded once: never fused into the add that follows it (nvcc contracts a * b + c).
DK_HD float roi_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

DK_HD bool roi_finite(float v) { return fabsf(v) <= 3.40282347e38f; }

// One axis of a roi. Sample i of bin p sits at start + p bin + (i + 0.5) bin / grid, with
// torchvision's roundings (its expression, evaluated left to right in f32).
struct RoiAxis {
    float start, bin;
    int32_t grid;  // samples per bin side, >= 0

    DK_HD float base(int32_t p) const { return start + roi_mul(float(p), bin); }
    DK_HD float at(int32_t p, int32_t i) const { return base(p) + roi_mul(float(i) + 0.5f, bin) / float(grid); }

    // The samples of bin p whose positions may lie in [lo, hi]: [first, last), by two binary
    // searches over the positions, widened by one each side (a caller checks every sample it visits
    // again). All of them where bin <= 0 (a fixed sampling ratio: aligned, x2 <= x1), whose positions
    // do not increase.
    DK_HD void samples(int32_t p, float lo, float hi, int32_t& first, int32_t& last) const {
        first = 0;
        last = grid;
        if (!(bin > 0.0f)) return;
        int32_t a = 0, b = grid;
        while (a < b) {
            const int32_t m = a + (b - a) / 2;
            if (at(p, m) < lo) a = m + 1;
            else b = m;
        }
        first = a > 0 ? a - 1 : 0;
        b = grid;
        while (a < b) {
            const int32_t m = a + (b - a) / 2;
            if (at(p, m) <= hi) a = m + 1;
            else b = m;
        }
        last = a < grid ? a + 1 : grid;
    }

    // The bins of `out` whose samples may lie in [lo, hi]: [first, last). Bin p's samples lie in
    // [base(p), base(p) + bin] up to a rounding, which the widening by one bin each side covers. All
    // of them where bin <= 0; none without samples.
    DK_HD void bins(int32_t out, float lo, float hi, int32_t& first, int32_t& last) const {
        first = 0;
        last = grid > 0 ? out : 0;
        if (!(bin > 0.0f) || grid == 0) return;
        int32_t a = 0, b = out;
        while (a < b) {
            const int32_t m = a + (b - a) / 2;
            if (base(m) + bin < lo) a = m + 1;
            else b = m;
        }
        first = a > 0 ? a - 1 : 0;
        b = out;
        while (a < b) {
            const int32_t m = a + (b - a) / 2;
            if (base(m) <= hi) a = m + 1;
            else b = m;
        }
        last = a < out ? a + 1 : out;
    }

    // Whether a sample may touch a pixel of [i0, i1] on an axis of `size` pixels (one at s in
    // [-1, size] touches floor(max(s, 0)) and the next): a superset, with a margin for roundings.
    DK_HD bool may_touch(int32_t out, int64_t i0, int64_t i1, int64_t size) const {
        if (grid == 0) return false;
        const float b0 = base(0), b1 = base(out - 1) + bin;
        float lo = b0 < b1 ? b0 : b1, hi = b0 < b1 ? b1 : b0;
        const float margin = 4.0f + (fabsf(lo) + fabsf(hi)) * 1e-6f;
        if (hi < -1.0f - margin || lo > float(size) + margin) return false;
        lo = lo < 0.0f ? 0.0f : lo;
        hi = hi < 0.0f ? 0.0f : hi;
        return lo <= float(i1) + margin && hi >= float(i0) - margin;
    }
};

// torchvision's grid of an axis: the sampling ratio, or (adaptive) ceil(bin) - 0 for a bin <= 0,
// at most INT32_MAX (where torchvision's int conversion would overflow).
DK_HD int32_t roi_grid(float bin, int32_t sampling_ratio) {
    if (sampling_ratio > 0) return sampling_ratio;
    if (!(bin > 0.0f)) return 0;
    const float g = ceilf(bin);
    return g >= 2147483648.0f ? INT32_MAX : int32_t(g);
}

// Roi k's geometry. batch -1 (and no samples) for a batch index outside [0, n) after truncation
// toward zero (NaN included), or a scaled corner or size that is not finite.
struct Roi {
    RoiAxis y, x;
    float count;  // the average's divisor: max(grid_h grid_w, 1)
    int64_t batch;
};

template <typename T>
DK_HD Roi roi_of(const RoiAlignArgs& a, int64_t k) {
    const T* box = static_cast<const T*>(a.boxes) + 5 * k;
    Roi r{{0.0f, 0.0f, 0}, {0.0f, 0.0f, 0}, 1.0f, -1};
    const float index = load_float(box[0]), offset = a.aligned ? 0.5f : 0.0f;
    const float x1 = roi_mul(load_float(box[1]), a.spatial_scale) - offset;
    const float y1 = roi_mul(load_float(box[2]), a.spatial_scale) - offset;
    const float x2 = roi_mul(load_float(box[3]), a.spatial_scale) - offset;
    const float y2 = roi_mul(load_float(box[4]), a.spatial_scale) - offset;
    float w = x2 - x1, h = y2 - y1;
    if (!a.aligned) {  // malformed rois forced to 1 x 1
        w = w > 1.0f ? w : 1.0f;
        h = h > 1.0f ? h : 1.0f;
    }
    if (!(index > -1.0f && index < 9.0e18f) || !roi_finite(x1) || !roi_finite(y1) || !roi_finite(x2) ||
        !roi_finite(y2) || !roi_finite(w) || !roi_finite(h))
        return r;
    const int64_t batch = int64_t(index);
    if (batch >= a.n) return r;
    const float bin_h = h / float(a.out_h), bin_w = w / float(a.out_w);
    r.y = {y1, bin_h, roi_grid(bin_h, a.sampling_ratio)};
    r.x = {x1, bin_w, roi_grid(bin_w, a.sampling_ratio)};
    const int64_t count = int64_t(r.y.grid) * r.x.grid;
    r.count = count > 1 ? float(count) : 1.0f;
    r.batch = batch;
    return r;
}

// A sample's taps on one axis of `size` pixels (torchvision's bilinear_interpolate): false outside
// [-1, size]; else pixels low and high (both the last pixel from size - 1 on) weighted h and l.
struct RoiTap {
    int32_t low, high;
    float l, h;
};

DK_HD bool roi_tap(float s, int32_t size, RoiTap& t) {
    if (!(s >= -1.0f && s <= float(size))) return false;
    if (s <= 0.0f) s = 0.0f;
    t.low = int32_t(s);
    if (t.low >= size - 1) {
        t.low = t.high = size - 1;
        s = float(t.low);
    } else {
        t.high = t.low + 1;
    }
    t.l = s - float(t.low);
    t.h = 1.0f - t.l;
    return true;
}

// A sample's value from its taps on rows lo and hi: w1 v1 + w2 v2 + w3 v3 + w4 v4, in that order.
template <typename T>
DK_HD float roi_bilinear(const T* lo, const T* hi, const RoiTap& ty, const RoiTap& tx) {
    return roi_mul(roi_mul(ty.h, tx.h), load_float(lo[tx.low])) + roi_mul(roi_mul(ty.h, tx.l), load_float(lo[tx.high])) +
           roi_mul(roi_mul(ty.l, tx.h), load_float(hi[tx.low])) + roi_mul(roi_mul(ty.l, tx.l), load_float(hi[tx.high]));
}

// What a sample gives a tap of weights wy, wx in the backward: (grad * wy wx) / count.
DK_HD float roi_grad_term(float grad, float wy, float wx, float count) { return roi_mul(grad, roi_mul(wy, wx)) / count; }

// out[e], e = ((k C + c) out_h + ph) out_w + pw: the average of bin (ph, pw)'s samples of roi k on
// channel c, each the weighted sum of its 4 taps in torchvision's order. Reads the roi's 5 numbers
// and each sample inside the image's 4 taps (through the cache: neighbouring outputs share them).
template <typename T>
struct RoiAlignForward {
    RoiAlignArgs a;

    DK_HD void operator()(int64_t e) const {
        const int64_t pw = e % a.out_w, rest = e / a.out_w, ph = rest % a.out_h, kc = rest / a.out_h;
        const int64_t c = kc % a.c, k = kc / a.c;
        const Roi r = roi_of<T>(a, k);
        float sum = 0.0f;
        if (r.batch >= 0) {
            const int32_t py = int32_t(ph), px = int32_t(pw), height = int32_t(a.height), width = int32_t(a.width);
            const T* plane = static_cast<const T*>(a.src) + (r.batch * a.c + c) * a.height * a.width;
            int32_t iy0, iy1, ix0, ix1;
            r.y.samples(py, -1.0f, float(height), iy0, iy1);
            r.x.samples(px, -1.0f, float(width), ix0, ix1);
            for (int32_t iy = iy0; iy < iy1; ++iy) {
                RoiTap ty;
                if (!roi_tap(r.y.at(py, iy), height, ty)) continue;
                const T* lo = plane + int64_t(ty.low) * a.width;
                const T* hi = plane + int64_t(ty.high) * a.width;
                for (int32_t ix = ix0; ix < ix1; ++ix) {
                    RoiTap tx;
                    if (!roi_tap(r.x.at(px, ix), width, tx)) continue;
                    sum += roi_bilinear(lo, hi, ty, tx);
                }
            }
        }
        store_float(static_cast<T*>(a.dst)[e], sum / r.count);
    }
};

// The backward: each sample inside the image gives each of its taps (grad * w) / count, w the tap's
// bilinear weight (torchvision's formula). Per element of the image's gradient the terms are added
// in the order (roi, ph, pw, iy, ix, tap): the gather below on the GPU, the cpu's scatter of each
// roi into its image's planes (native/cpu/detect.cpp), roi after roi.
template <typename T>
struct RoiAlignBackward {
    RoiAlignArgs a;

    // Whether roi r may give anything to the pixels [y0, y1] x [x0, x1] of image n (a superset).
    DK_HD bool may_touch(const Roi& r, int64_t n, int64_t y0, int64_t y1, int64_t x0, int64_t x1) const {
        return r.batch == n && r.y.may_touch(a.out_h, y0, y1, a.height) && r.x.may_touch(a.out_w, x0, x1, a.width);
    }

    // The gather (GPU): what roi r (number k, of this element's image) gives element (c, y, x),
    // added to sum. Only its samples within a pixel of (y, x) - both taps of a sample at s <= 0 go
    // to pixels 0 and 1 - are visited.
    DK_HD void gather(const Roi& r, int64_t k, int64_t c, int32_t y, int32_t x, float& sum) const {
        const int32_t height = int32_t(a.height), width = int32_t(a.width);
        const float ylo = y <= 1 ? -1.0f : float(y - 1), yhi = float(y + 1);
        const float xlo = x <= 1 ? -1.0f : float(x - 1), xhi = float(x + 1);
        int32_t ph0, ph1, pw0, pw1;
        r.y.bins(a.out_h, ylo, yhi, ph0, ph1);
        r.x.bins(a.out_w, xlo, xhi, pw0, pw1);
        const T* grad = static_cast<const T*>(a.src) + (k * a.c + c) * a.out_h * a.out_w;
        for (int32_t ph = ph0; ph < ph1; ++ph) {
            int32_t iy0, iy1;
            r.y.samples(ph, ylo, yhi, iy0, iy1);
            if (iy0 >= iy1) continue;
            for (int32_t pw = pw0; pw < pw1; ++pw) {
                int32_t ix0, ix1;
                r.x.samples(pw, xlo, xhi, ix0, ix1);
                if (ix0 >= ix1) continue;
                const float g = load_float(grad[int64_t(ph) * a.out_w + pw]);
                for (int32_t iy = iy0; iy < iy1; ++iy) {
                    RoiTap ty;
                    if (!roi_tap(r.y.at(ph, iy), height, ty) || (ty.low != y && ty.high != y)) continue;
                    for (int32_t ix = ix0; ix < ix1; ++ix) {
                        RoiTap tx;
                        if (!roi_tap(r.x.at(pw, ix), width, tx) || (tx.low != x && tx.high != x)) continue;
                        if (ty.low == y) {
                            if (tx.low == x) sum += roi_grad_term(g, ty.h, tx.h, r.count);
                            if (tx.high == x) sum += roi_grad_term(g, ty.h, tx.l, r.count);
                        }
                        if (ty.high == y) {
                            if (tx.low == x) sum += roi_grad_term(g, ty.l, tx.h, r.count);
                            if (tx.high == x) sum += roi_grad_term(g, ty.l, tx.l, r.count);
                        }
                    }
                }
            }
        }
    }
};

}  // namespace dk
