// conv.cuh - 2-D convolution index maps and per-element bodies, written once for every backend.
//
// Layouts (deepkern.h): NCHW x [n, c, h, w], weight [k, c/g, r, s], output [n, k, p, q];
// NHWC x [n, h, w, c], weight [k, r, s, c/g], output [n, p, q, k]. Either way the weight is a
// [k][red] matrix, red = c/g * r * s in the layout's own order, so filter element (cg, r, s) of
// output channel k sits at k * red + red_index(cg, r, s).
// Output pixel (p, q) reads input row p * stride_h - pad_h + r * dil_h (and columns likewise).
// The data gradient inverts that map: input row h gets filter row r from output row
// p = (h + pad_h - r * dil_h) / stride_h where that divides exactly and lands in [0, P).
#pragma once

#include "activation/activations.cuh"
#include "deepkern/numeric.cuh"
#include "conv/conv.h"

namespace dk {

DK_HD int64_t conv_x_index(const ConvGeom& g, int64_t n, int64_t c, int64_t h, int64_t w) {
    return g.nhwc ? ((n * g.h + h) * g.w + w) * g.c + c : ((n * g.c + c) * g.h + h) * g.w + w;
}

DK_HD int64_t conv_y_index(const ConvGeom& g, int64_t n, int64_t k, int64_t p, int64_t q) {
    return g.nhwc ? ((n * g.p + p) * g.q + q) * g.k + k : ((n * g.k + k) * g.p + p) * g.q + q;
}

// The (n, channel, row, col) of element i of a tensor [n, ch, rows, cols] stored NCHW or NHWC.
DK_HD void conv_unflatten(bool nhwc, int64_t i, int64_t ch, int64_t rows, int64_t cols, int64_t& n, int64_t& c,
                          int64_t& row, int64_t& col) {
    if (nhwc) {
        c = i % ch;
        i /= ch;
        col = i % cols;
        i /= cols;
        row = i % rows;
        n = i / rows;
    } else {
        col = i % cols;
        i /= cols;
        row = i % rows;
        i /= rows;
        c = i % ch;
        n = i / ch;
    }
}

DK_HD int64_t conv_red(const ConvGeom& g) { return (g.c / g.groups) * g.r * g.s; }

DK_HD int64_t conv_red_index(const ConvGeom& g, int64_t cg, int64_t r, int64_t s) {
    return g.nhwc ? (r * g.s + s) * (g.c / g.groups) + cg : (cg * g.r + r) * g.s + s;
}

// red -> (cg, r, s) in an NHWC filter's order, (r, s, c)
DK_HD void conv_red_decode_rsc(const ConvGeom& g, int64_t red, int64_t& cg, int64_t& r, int64_t& s) {
    const int64_t cgs = g.c / g.groups;
    cg = red % cgs;
    const int64_t rs = red / cgs;
    s = rs % g.s;
    r = rs / g.s;
}

// red -> (cg, r, s)
DK_HD void conv_red_decode(const ConvGeom& g, int64_t red, int64_t& cg, int64_t& r, int64_t& s) {
    if (g.nhwc) {
        conv_red_decode_rsc(g, red, cg, r, s);
    } else {
        s = red % g.s;
        const int64_t t = red / g.s;
        r = t % g.r;
        cg = t / g.r;
    }
}

// The x element output pixel m (n, p, q flattened) reads at reduction index rr in the group whose
// first input channel is c0; false where that tap falls in the padding.
DK_HD bool conv_tap(const ConvGeom& g, int64_t m, int64_t rr, int64_t c0, int64_t& xi) {
    const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
    int64_t cg, r, s;
    conv_red_decode(g, rr, cg, r, s);
    const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
    const int64_t wc = q * g.stride_w - g.pad_w + s * g.dil_w;
    if (h < 0 || h >= g.h || wc < 0 || wc >= g.w) return false;
    xi = conv_x_index(g, n, c0 + cg, h, wc);
    return true;
}

// Calls f(r, s, h, w) for each filter tap (r, s) of output pixel (p, q) that reads input row h and
// column w inside the image, skipping the taps that fall in the padding.
template <class F>
DK_HD void conv_for_each_tap(const ConvGeom& g, int64_t p, int64_t q, const F& f) {
    for (int64_t r = 0; r < g.r; ++r) {
        const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
        if (h < 0 || h >= g.h) continue;
        for (int64_t s = 0; s < g.s; ++s) {
            const int64_t wc = q * g.stride_w - g.pad_w + s * g.dil_w;
            if (wc < 0 || wc >= g.w) continue;
            f(r, s, h, wc);
        }
    }
}

// The data gradient as a GEMM (kernels/conv/conv2d.cu, conv2d_mma.cu) splits the input pixels by their
// residue class (h mod stride_h, w mod stride_w) = (ph, pw): within a class every pixel is reached
// by the same filter rows, those r with (ph + pad_h - r dil_h) divisible by stride_h, which repeat
// every stride_h / gcd(dil_h, stride_h): first, first + step, ... below R (count of them); columns
// likewise. Only phases below the image's extent hold pixels, so there are
// min(stride_h, H) * min(stride_w, W) classes (a stride far beyond the image costs nothing);
// class cls = ph * min(stride_w, W) + pw; its pixels m = (n, i, j) are rows ph + i stride_h,
// columns pw + j stride_w; its reduction index l = ((ri, si), kk), filter kk of the group fastest.
struct ConvTaps {
    int64_t first, step, count;
};

struct ConvResidueClass {
    int64_t ph, pw, rows, cols;
    ConvTaps r, s;
    DK_HD int64_t len(int64_t kgs) const { return r.count * s.count * kgs; }
};

DK_HD ConvTaps conv_dividing_taps(int64_t phase, int64_t pad, int64_t dil, int64_t stride, int64_t extent) {
    int64_t a = dil, b = stride;
    while (b != 0) {
        const int64_t t = a % b;
        a = b;
        b = t;
    }
    ConvTaps t{0, stride / a, 0};
    while (t.first < t.step && t.first < extent && (phase + pad - t.first * dil) % stride != 0) ++t.first;
    if (t.first < t.step && t.first < extent) t.count = (extent - 1 - t.first) / t.step + 1;
    return t;
}

DK_HD int64_t conv_residue_phases(int64_t stride, int64_t extent) { return stride < extent ? stride : extent; }

DK_HD int64_t conv_residue_classes(const ConvGeom& g) {
    return conv_residue_phases(g.stride_h, g.h) * conv_residue_phases(g.stride_w, g.w);
}

DK_HD ConvResidueClass conv_residue_class(const ConvGeom& g, int64_t cls) {
    ConvResidueClass rc;
    const int64_t phases_w = conv_residue_phases(g.stride_w, g.w);
    rc.ph = cls / phases_w;
    rc.pw = cls % phases_w;
    rc.rows = rc.ph < g.h ? (g.h - rc.ph + g.stride_h - 1) / g.stride_h : 0;
    rc.cols = rc.pw < g.w ? (g.w - rc.pw + g.stride_w - 1) / g.stride_w : 0;
    rc.r = conv_dividing_taps(rc.ph, g.pad_h, g.dil_h, g.stride_h, g.r);
    rc.s = conv_dividing_taps(rc.pw, g.pad_w, g.dil_w, g.stride_w, g.s);
    return rc;
}

// pixel m of the class -> (n, h, w)
DK_HD void conv_residue_pixel(const ConvGeom& g, const ConvResidueClass& rc, int64_t m, int64_t& n, int64_t& h,
                              int64_t& w) {
    w = rc.pw + m % rc.cols * g.stride_w;
    const int64_t t = m / rc.cols;
    h = rc.ph + t % rc.rows * g.stride_h;
    n = t / rc.rows;
}

// reduction index l -> (kk, r, s)
DK_HD void conv_residue_decode(const ConvResidueClass& rc, int64_t kgs, int64_t l, int64_t& kk, int64_t& r,
                               int64_t& s) {
    kk = l % kgs;
    const int64_t t = l / kgs;
    s = rc.s.first + t % rc.s.count * rc.s.step;
    r = rc.r.first + t / rc.s.count * rc.r.step;
}

// The grad_y element that pixel m of the class takes at reduction index l (filters k0 + kk); false
// where that output falls outside [0, P) x [0, Q).
DK_HD bool conv_residue_tap(const ConvGeom& g, const ConvResidueClass& rc, int64_t m, int64_t l, int64_t k0,
                            int64_t& yi) {
    int64_t n, h, w, kk, r, s;
    conv_residue_pixel(g, rc, m, n, h, w);
    conv_residue_decode(rc, g.k / g.groups, l, kk, r, s);
    const int64_t hp = h + g.pad_h - r * g.dil_h, wq = w + g.pad_w - s * g.dil_w;
    if (hp < 0 || wq < 0) return false;
    const int64_t p = hp / g.stride_h, q = wq / g.stride_w;  // exact: the class's taps divide
    if (p >= g.p || q >= g.q) return false;
    yi = conv_y_index(g, n, k0 + kk, p, q);
    return true;
}

// The forward epilogue for output element (n, k, p, q) at index yi: act(acc + bias) + residual.
template <typename T>
DK_HD void conv_store_output(const ConvArgs& a, float acc, int64_t k, int64_t yi) {
    if (a.bias) acc += load_float(static_cast<const T*>(a.bias)[k]);
    acc = activate(a.act, acc);
    if (a.residual) acc += load_float(static_cast<const T*>(a.residual)[yi]);
    store_float(static_cast<T*>(a.y)[yi], acc);
}

// The data gradient's epilogue for input element (n, c, h, w) at index i (the transposed conv's
// bias and activation): dx[i] = act(acc + bias[c]).
template <typename T>
DK_HD void conv_store_input_grad(const ConvArgs& a, float acc, int64_t c, int64_t i) {
    if (a.bias) acc += load_float(static_cast<const T*>(a.bias)[c]);
    store_float(static_cast<T*>(a.dx)[i], activate(a.act, acc));
}

// The epilogues of the implicit-GEMM tiles (conv2d.cu, conv2d_mma.cu) in the form their tile walks
// take: row(i) decodes tile row i once and returns the store(j, value) of its columns j.
// Forward: rows are output pixels m0 + i, columns filters k0 + j of group grp.
template <typename T>
DK_HD auto conv_forward_tile_out(const ConvArgs& a, int64_t grp, int64_t m0, int64_t k0) {
    const int64_t kb = grp * (a.g.k / a.g.groups) + k0;  // the tile's first output channel
    return [&a, m0, kb](int i) {
        const ConvGeom& g = a.g;
        const int64_t m = m0 + i, q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
        return [&a, kb, n, p, q](int j, float v) {
            conv_store_output<T>(a, v, kb + j, conv_y_index(a.g, n, kb + j, p, q));
        };
    };
}

// Data gradient: rows are the pixels m0 + i of residue class rc, columns channels c0 + j of group grp.
template <typename T>
DK_HD auto conv_data_tile_out(const ConvArgs& a, const ConvResidueClass& rc, int64_t grp, int64_t m0, int64_t c0) {
    const int64_t cb = grp * (a.g.c / a.g.groups) + c0;  // the tile's first input channel
    return [&a, &rc, m0, cb](int i) {
        int64_t n, h, w;
        conv_residue_pixel(a.g, rc, m0 + i, n, h, w);
        return [&a, cb, n, h, w](int j, float v) {
            conv_store_input_grad<T>(a, v, cb + j, conv_x_index(a.g, n, cb + j, h, w));
        };
    };
}

// Weight gradient: rows are filters k0 + i of group grp, columns reduction indices j0 + j; into
// piece's slice of the f32 partials [pieces][k][red], or straight into dw where partials is null.
template <typename T>
DK_HD auto conv_weight_tile_out(const ConvArgs& a, int64_t grp, int64_t k0, int64_t j0, int64_t piece,
                                float* partials) {
    const int64_t red = conv_red(a.g), kb = grp * (a.g.k / a.g.groups) + k0;
    float* part = partials ? partials + piece * a.g.k * red : nullptr;
    return [&a, red, kb, j0, part](int i) {
        const int64_t row = (kb + i) * red + j0;
        return [&a, row, part](int j, float v) {
            if (part)
                part[row + j] = v;
            else
                store_float(static_cast<T*>(a.dw)[row + j], v);
        };
    };
}

// Direct forward for one output element (the cpu backend's body; the kernel tiles instead).
template <typename T>
DK_HD float conv_forward_at(const ConvArgs& a, int64_t n, int64_t k, int64_t p, int64_t q) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w) + k * conv_red(g);
    const int64_t cgs = g.c / g.groups, c0 = (k / (g.k / g.groups)) * cgs;
    float acc = 0.0f;
    conv_for_each_tap(g, p, q, [&](int64_t r, int64_t s, int64_t h, int64_t wc) {
        for (int64_t cg = 0; cg < cgs; ++cg)
            acc += load_float(x[conv_x_index(g, n, c0 + cg, h, wc)]) * load_float(w[conv_red_index(g, cg, r, s)]);
    });
    return acc;
}

// The data gradient at input element i (flat, in x's layout), with the transposed conv's bias and
// activation: dx[i] = act(sum over the outputs that read it of grad_y * w + bias[c]).
template <typename T>
DK_HD void conv_backward_data_at(const ConvArgs& a, int64_t i) {
    const ConvGeom& g = a.g;
    int64_t n, c, h, wc;
    conv_unflatten(g.nhwc, i, g.c, g.h, g.w, n, c, h, wc);
    const int64_t cgs = g.c / g.groups, kgs = g.k / g.groups;
    const int64_t grp = c / cgs, cg = c % cgs, red = conv_red(g);
    const T* gy = static_cast<const T*>(a.grad_y);
    const T* w = static_cast<const T*>(a.w);
    float acc = 0.0f;
    for (int64_t r = 0; r < g.r; ++r) {
        const int64_t hp = h + g.pad_h - r * g.dil_h;
        if (hp < 0 || hp % g.stride_h != 0) continue;
        const int64_t p = hp / g.stride_h;
        if (p >= g.p) continue;
        for (int64_t s = 0; s < g.s; ++s) {
            const int64_t wq = wc + g.pad_w - s * g.dil_w;
            if (wq < 0 || wq % g.stride_w != 0) continue;
            const int64_t q = wq / g.stride_w;
            if (q >= g.q) continue;
            const int64_t ri = conv_red_index(g, cg, r, s);
            for (int64_t kk = 0; kk < kgs; ++kk) {
                const int64_t k = grp * kgs + kk;
                acc += load_float(gy[conv_y_index(g, n, k, p, q)]) * load_float(w[k * red + ri]);
            }
        }
    }
    if (a.bias) acc += load_float(static_cast<const T*>(a.bias)[c]);
    store_float(static_cast<T*>(a.dx)[i], activate(a.act, acc));
}

// The weight gradient at weight element i = k * red + ri: the sum over n, p, q of grad_y times
// the input element that filter tap read.
template <typename T>
DK_HD void conv_backward_weight_at(const ConvArgs& a, int64_t i) {
    const ConvGeom& g = a.g;
    const int64_t red = conv_red(g);
    const int64_t k = i / red;
    int64_t cg, r, s;
    conv_red_decode(g, i % red, cg, r, s);
    const int64_t c = (k / (g.k / g.groups)) * (g.c / g.groups) + cg;
    const T* x = static_cast<const T*>(a.x);
    const T* gy = static_cast<const T*>(a.grad_y);
    float acc = 0.0f;
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t p = 0; p < g.p; ++p) {
            const int64_t h = p * g.stride_h - g.pad_h + r * g.dil_h;
            if (h < 0 || h >= g.h) continue;
            for (int64_t q = 0; q < g.q; ++q) {
                const int64_t wc = q * g.stride_w - g.pad_w + s * g.dil_w;
                if (wc < 0 || wc >= g.w) continue;
                acc += load_float(gy[conv_y_index(g, n, k, p, q)]) * load_float(x[conv_x_index(g, n, c, h, wc)]);
            }
        }
    store_float(static_cast<T*>(a.dw)[i], acc);
}

// The bias gradient of channel k: grad_y summed over n, p, q.
template <typename T>
DK_HD void conv_backward_bias_at(const ConvArgs& a, int64_t k) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.grad_y);
    float acc = 0.0f;
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t p = 0; p < g.p; ++p)
            for (int64_t q = 0; q < g.q; ++q) acc += load_float(gy[conv_y_index(g, n, k, p, q)]);
    store_float(static_cast<T*>(a.db)[k], acc);
}

}  // namespace dk
