// conv.h - the conv family's backend contract: 2-D convolution forward, its algorithm choice, and
// the data and weight gradients (the transposed convolution is the data gradient).
#pragma once

#include "deepkern/backend.h"

namespace dk {

// A 2-D convolution's geometry (deepkern.h dk_conv2d_*), validated: x [n, c, h, w] (or NHWC),
// weight viewed as [k][red] with red = c/groups * r * s in the layout's order ((c, r, s) for NCHW,
// (r, s, c) for NHWC), output [n, k, p, q] (or NHWC). Only the top/left pads enter the index maps;
// the bottom/right ones are in p and q.
struct ConvGeom {
    int64_t n, c, h, w;
    int64_t k, r, s;
    int64_t p, q;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
    int32_t nhwc;
};

// Forward reads x, w, bias, residual and writes y; backward_data reads y (grad_out), w and bias
// (the transposed conv's) and writes dx with act applied; backward_weight reads x and y and writes
// dw and, when non-null, db. Unused pointers are null; act.kind 0 = none.
struct ConvArgs {
    ConvGeom g;
    ActParams act;
    const void* x;
    const void* w;
    const void* bias;
    const void* residual;
    const void* grad_y;
    void* y;
    void* dx;
    void* dw;
    void* db;
    // f32 operands may be rounded to tf32 for the tensor cores (cuda / emu; dk_set_allow_tf32)
    bool tf32;
    // scratch of the op's conv2d_*_workspace bytes, null where that is 0 (always on cpu): the
    // forward's and data gradient's channels-last operand copies (NCHW on tensor cores); the
    // weight gradient's conv_weight_grad_splits(g) partial dw sums, [splits][k][red] f32, when that
    // is more than 1, then its channels-last copies
    float* workspace;
};

// Into how many pieces the cuda / emu weight gradient splits its reduction over the n * p * q
// output pixels (kernels/conv/conv2d.cu): enough 64 x 64 tiles of dw to fill the machine about four
// times, each piece at least 256 pixels long.
inline int64_t conv_weight_grad_splits(const Exec& ex, const ConvGeom& g) {
    const int64_t red = (g.c / g.groups) * g.r * g.s, kgs = g.k / g.groups, pixels = g.n * g.p * g.q;
    const int64_t tiles = ((kgs + 63) / 64) * ((red + 63) / 64) * g.groups;
    const int64_t want = tiles > 0 ? (4 * int64_t(ex.multiprocessors) + tiles - 1) / tiles : 1;
    const int64_t most = (pixels + 255) / 256;
    const int64_t s = want < most ? want : most;
    return s < 1 ? 1 : s;
}

// A 1x1 filter at stride 1 without padding: each output pixel is its input pixel's channels times
// w, so the conv is a plain product (y = x w^T over NHWC pixels, y[n] = w x[n] per NCHW image).
inline bool conv_is_pointwise(const ConvGeom& g) {
    return g.r == 1 && g.s == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0 &&
           g.p == g.h && g.q == g.w;
}

// The pixels of the largest stride residue class of the data gradient (rows and columns 0 mod
// the stride, kernels/conv/conv2d.cu): the rows of its launch grid.
inline int64_t conv_data_grad_rows(const ConvGeom& g) {
    return g.n * ((g.h + g.stride_h - 1) / g.stride_h) * ((g.w + g.stride_w - 1) / g.stride_w);
}

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void conv2d_forward(const Exec&, DType, const ConvArgs&);
    void conv2d_forward_algorithm(const Exec&, DType, const ConvArgs&, const char** name);
    // the scratch bytes the forward needs in ConvArgs::workspace (0: none)
    void conv2d_forward_workspace(const Exec&, DType, const ConvArgs&, int64_t* bytes);
    void conv2d_backward_data_workspace(const Exec&, DType, const ConvArgs&, int64_t* bytes);
    void conv2d_backward_data(const Exec&, DType, const ConvArgs&);
    void conv2d_backward_weight_workspace(const Exec&, DType, const ConvArgs&, int64_t* bytes);
    void conv2d_backward_weight(const Exec&, DType, const ConvArgs&);
)
