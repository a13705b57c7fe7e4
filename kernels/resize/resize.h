// resize.h - resizing's backend contract: torch's F.interpolate (nearest, nearest-exact, bilinear,
// bicubic; align_corners; antialias) forward and backward, and the image pyramid of many resizes.
#pragma once

#include "deepkern/backend.h"
#include "deepkern/numeric.cuh"

namespace dk {

enum class InterpMode : int32_t { nearest = 0, nearest_exact = 1, bilinear = 2, bicubic = 3 };

// What an axis's taps are: one (either nearest mode), two (bilinear), four (bicubic), or an
// antialiased window (any: known at run time only). The forward kernel is instantiated per kind,
// so its tap loops unroll and no tap branches on the mode; any decides at run time.
enum class TapKind : int32_t { any = 0, nearest = 1, bilinear = 2, bicubic = 3 };

// One axis of a resize from `in` to `out` samples: the input taps of output o and their weights
// (taps, tap, weight), and the span of inputs each output reads (monotone in o, which the backward's gather searches).
// scale is torch's input samples per output sample, computed on the host as torch does (f32):
// align_corners ? (in - 1) / (out - 1) : a given scale factor's 1 / s, else in / out.
struct InterpAxis {
    int64_t in, out;
    float scale;
    InterpMode mode;
    bool align_corners, antialias;

    // The taps of one output: n of them, tap k read by tap(); what the weights need, computed once.
    struct Taps {
        int64_t first, n;
        float t;                     // bilinear / bicubic: the fraction past `first`
        float center, inv, total;    // antialias: the filter's centre, stretch and the weights' sum
    };

    DK_HD TapKind kind() const {
        if (mode == InterpMode::nearest || mode == InterpMode::nearest_exact) return TapKind::nearest;
        if (antialias) return TapKind::any;
        return mode == InterpMode::bilinear ? TapKind::bilinear : TapKind::bicubic;
    }

    // The taps of output o; K, where not any, is this axis's kind().
    template <TapKind K = TapKind::any>
    DK_HD Taps taps(int64_t o) const {
        const TapKind kind_now = K == TapKind::any ? kind() : K;
        Taps k{0, 1, 0.0f, 0.0f, 1.0f, 1.0f};
        if (kind_now == TapKind::nearest) {
            k.first = nearest(o);
        } else if (kind_now == TapKind::any) {
            window(o, k.first, k.n, k.center, k.inv);
            k.total = 0.0f;
            for (int64_t j = 0; j < k.n; ++j) k.total += filter((float(k.first + j) - k.center + 0.5f) * k.inv);
        } else {
            source(o, k.first, k.t);
            k.n = kind_now == TapKind::bilinear ? 2 : 4;
        }
        return k;
    }

    // Tap j of k: its input index (clamped into [0, in), so an index may repeat at the border; a
    // repeat's weights add up) and weight. K as in taps.
    template <TapKind K = TapKind::any>
    DK_HD void tap(const Taps& k, int64_t j, int64_t& index, float& weight) const {
        const TapKind kind_now = K == TapKind::any ? kind() : K;
        if (kind_now == TapKind::nearest) {
            index = k.first;
            weight = 1.0f;
        } else if (kind_now == TapKind::any) {
            index = k.first + j;
            weight = k.total != 0.0f ? filter((float(index) - k.center + 0.5f) * k.inv) / k.total : 0.0f;
        } else if (kind_now == TapKind::bilinear) {
            index = j == 0 ? k.first : k.first + (k.first < in - 1 ? 1 : 0);
            weight = j == 0 ? 1.0f - k.t : k.t;
        } else {
            // torch's coefficients cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t) as one
            // formula of the distance (a chain of selects by j becomes a local-memory table)
            constexpr float A = -0.75f;  // torch's (and OpenCV's) bicubic
            index = clamp(k.first - 1 + j);
            const float d = fabsf(k.t - float(j - 1));
            weight = d < 1.0f ? cubic1(d, A) : cubic2(d, A);
        }
    }

    // The weight of input i in output o.
    DK_HD float weight(int64_t o, int64_t i) const {
        const Taps k = taps(o);
        float sum = 0.0f;
        for (int64_t j = 0; j < k.n; ++j) {
            int64_t index;
            float w;
            tap(k, j, index, w);
            if (index == i) sum += w;
        }
        return sum;
    }

    // The first and last input output o reads.
    DK_HD void span(int64_t o, int64_t& lo, int64_t& hi) const {
        if (mode == InterpMode::nearest || mode == InterpMode::nearest_exact) {
            lo = hi = nearest(o);
        } else if (antialias) {
            int64_t n;
            float center, inv;
            window(o, lo, n, center, inv);
            hi = lo + n - 1;
        } else {
            int64_t i;
            float t;
            source(o, i, t);
            lo = mode == InterpMode::bilinear ? i : clamp(i - 1);
            hi = mode == InterpMode::bilinear ? i + (i < in - 1 ? 1 : 0) : clamp(i + 2);
        }
    }

    // The outputs whose spans hold input i, [first, last] (empty when first > last): two binary
    // searches over the monotone spans.
    DK_HD void readers(int64_t i, int64_t& first, int64_t& last) const {
        int64_t a = 0, b = out;  // first o with hi(o) >= i
        while (a < b) {
            const int64_t m = (a + b) / 2;
            int64_t lo, hi;
            span(m, lo, hi);
            if (hi >= i) b = m;
            else a = m + 1;
        }
        first = a;
        a = first, b = out;  // first o with lo(o) > i
        while (a < b) {
            const int64_t m = (a + b) / 2;
            int64_t lo, hi;
            span(m, lo, hi);
            if (lo > i) b = m;
            else a = m + 1;
        }
        last = a - 1;
    }

    DK_HD int64_t clamp(int64_t i) const { return i < 0 ? 0 : (i > in - 1 ? in - 1 : i); }

    // torch's nearest_idx / nearest_exact_idx (CPU), with its shortcuts for the same and twice the size.
    DK_HD int64_t nearest(int64_t o) const {
        if (out == in) return o;
        if (out == 2 * in) return o >> 1;
        const float src = mode == InterpMode::nearest_exact ? (float(o) + 0.5f) * scale : float(o) * scale;
        const int64_t i = int64_t(floorf(src));
        return i < in - 1 ? i : in - 1;
    }

    // torch's area_pixel_compute_source_index + guard_index_and_lambda: the tap i at or left of
    // the source position and the fraction t past it.
    DK_HD void source(int64_t o, int64_t& i, float& t) const {
        float src = align_corners ? scale * float(o) : scale * (float(o) + 0.5f) - 0.5f;
        if (mode == InterpMode::bilinear && !align_corners && src < 0.0f) src = 0.0f;
        i = int64_t(floorf(src));
        if (i > in - 1) i = in - 1;
        t = src - float(i);
        t = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    }

    // The antialiased window of output o (torch's _compute_weights_aa, Pillow's): inputs [lo, lo + n),
    // the filter stretched by the scale when downsampling.
    DK_HD void window(int64_t o, int64_t& lo, int64_t& n, float& center, float& inv) const {
        const float size = mode == InterpMode::bilinear ? 2.0f : 4.0f;
        const float support = scale >= 1.0f ? size * 0.5f * scale : size * 0.5f;
        center = scale * (float(o) + 0.5f);
        inv = scale >= 1.0f ? 1.0f / scale : 1.0f;
        lo = int64_t(center - support + 0.5f);
        if (lo < 0) lo = 0;
        int64_t hi = int64_t(center + support + 0.5f);
        if (hi > in) hi = in;
        n = hi - lo;
    }

    // The antialiasing filters: the triangle, and the cubic with a = -0.5 (Pillow's; torch's aa path).
    DK_HD float filter(float x) const {
        x = fabsf(x);
        if (mode == InterpMode::bilinear) return x < 1.0f ? 1.0f - x : 0.0f;
        constexpr float a = -0.5f;
        if (x < 1.0f) return cubic1(x, a);
        if (x < 2.0f) return cubic2(x, a);
        return 0.0f;
    }
    DK_HD static float cubic1(float x, float a) { return ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f; }
    DK_HD static float cubic2(float x, float a) { return ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a; }
};

// torch's scale of an axis (area_pixel_compute_scale; compute_scales_value for nearest): factor is
// the scale factor the output size came from, or 0.
inline float interp_scale(int64_t in, int64_t out, double factor, bool align_corners) {
    if (align_corners) return out > 1 ? float(in - 1) / float(out - 1) : 0.0f;
    return factor > 0 ? float(1.0 / factor) : float(in) / float(out);
}

// x [N, C, H, W] (or NHWC) resized to [N, C, Ho, Wo]. Forward: src = x, dst = out; backward:
// src = grad_out, dst = grad_x.
struct ResizeArgs {
    const void* src;
    void* dst;
    int64_t n, c;
    InterpAxis h, w;
    bool nhwc;
};

// An image pyramid: x resized to each level's size (the axes' out), level l into out + offset[l]
// elements, each level [N, C, h_l, w_l] (or NHWC) compact, in one launch.
constexpr int kMaxImageLevels = DK_MAX_IMAGE_PYRAMID_LEVELS;

struct ImagePyramidArgs {
    const void* x;
    void* out;
    int64_t n, c;
    bool nhwc;
    int32_t levels;
    InterpAxis h[kMaxImageLevels], w[kMaxImageLevels];
    int64_t offset[kMaxImageLevels];
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void resize_forward(const Exec&, DType, const ResizeArgs&);
    void resize_backward(const Exec&, DType, const ResizeArgs&);
    void image_pyramid(const Exec&, DType, const ImagePyramidArgs&);
)
