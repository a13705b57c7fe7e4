// pool.h - 2-D pooling's backend contract: max and average pooling with torch's windows (kernel,
// stride, padding, dilation, ceil mode) or torch's adaptive bins, forward and backward.
#pragma once

#include "deepkern/backend.h"
#include "deepkern/numeric.cuh"

namespace dk {

// One spatial axis of a pooling: which input positions output o's window holds, and which outputs'
// windows hold input position i. A window is `taps` positions first + t * step (t < taps); those
// outside [0, in) are padding.
//   windowed: first = o * stride - pad, step = dilation, taps = kernel
//   adaptive: first = floor(o * in / out), step = 1, taps = ceil((o + 1) * in / out) - first
struct PoolAxis {
    int64_t in, out;
    int32_t kernel, stride, pad, dilation;  // windowed only
    bool adaptive;

    DK_HD int64_t first(int64_t o) const { return adaptive ? o * in / out : o * stride - pad; }
    DK_HD int64_t step() const { return adaptive ? 1 : dilation; }
    DK_HD int64_t taps(int64_t o) const { return adaptive ? ((o + 1) * in + out - 1) / out - first(o) : kernel; }

    // The taps of output o inside [0, in): t in [lo, hi).
    DK_HD void inside(int64_t o, int64_t& lo, int64_t& hi) const {
        const int64_t f = first(o), s = step(), n = taps(o);
        lo = f < 0 ? (-f + s - 1) / s : 0;
        const int64_t end = in - f <= 0 ? 0 : (in - f + s - 1) / s;
        hi = n < end ? n : end;
    }

    // Average pooling's window size with padding counted (torch: the window clipped at in + pad).
    DK_HD int64_t padded(int64_t o) const {
        if (adaptive) return taps(o);
        const int64_t f = first(o), end = f + kernel < in + pad ? f + kernel : in + pad;
        return end - f;
    }

    // The outputs whose windows may hold input i, [lo, hi]; holds() tells which do.
    DK_HD void candidates(int64_t i, int64_t& lo, int64_t& hi) const {
        if (adaptive) {
            lo = i * out / in;
            hi = ((i + 1) * out + in - 1) / in - 1;
        } else {
            const int64_t span = int64_t(kernel - 1) * dilation + 1, below = i + pad - span + 1;
            lo = below <= 0 ? 0 : (below + stride - 1) / stride;
            hi = (i + pad) / stride;
        }
        if (hi > out - 1) hi = out - 1;
    }
    DK_HD bool holds(int64_t o, int64_t i) const {
        const int64_t off = i - first(o), s = step();
        return off >= 0 && off % s == 0 && off / s < taps(o);
    }
};

// torch's output size of a windowed axis (pooling_output_shape): < 1 when the window does not fit.
inline int64_t pool_output_size(int64_t in, int32_t kernel, int32_t stride, int32_t pad, int32_t dilation, bool ceil_mode) {
    const int64_t num = in + 2 * int64_t(pad) - int64_t(dilation) * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
    // the last window must start inside the input or its left padding
    if (ceil_mode && out > 0 && (out - 1) * stride >= in + pad) --out;
    return out;
}

enum class PoolKind : int32_t { max = 0, avg = 1 };

// An image [N, C, H, W] (NCHW) or [N, H, W, C] (NHWC) pooled to [N, C, Ho, Wo] (or NHWC).
// Forward: src = x, dst = out, indices (max, may be null) = each output's argmax h * W + w.
// Backward: src = grad_out, dst = grad_x, indices (max) read.
struct PoolArgs {
    const void* src;
    void* dst;
    int64_t* indices;
    int64_t n, c;
    PoolAxis h, w;
    bool nhwc;
    PoolKind kind;
    bool count_include_pad;
    int32_t divisor;  // avg: 0, or torch's divisor_override
};

// The pyramids of one image x [N, C, H, W] (or NHWC), each computed per plane from one read of it:
//   spp:  spatial pyramid pooling (He et al.), out [N, C * sum(levels^2)]: for each level l, the
//         max of every adaptive bin of an l x l grid, levels concatenated, each as [C, l, l];
//   sppf: YOLOv5's SPPF, out [N, 4C, H, W] (or NHWC) = concat over channels of x, m(x), m(m(x)),
//         m(m(m(x))), m = max pooling with an odd kernel k, stride 1, padding k / 2.
constexpr int kMaxPyramidLevels = DK_MAX_PYRAMID_LEVELS;

struct PyramidArgs {
    const void* x;
    void* out;
    int64_t n, c, h, w;
    bool nhwc;
    int32_t kernel;                         // sppf
    int32_t levels;                         // spp: how many, and each one's grid size
    int32_t size[kMaxPyramidLevels];
    int64_t bins;                           // spp: sum of size^2
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void pool2d_forward(const Exec&, DType, const PoolArgs&);
    void pool2d_backward(const Exec&, DType, const PoolArgs&);
    void spp_forward(const Exec&, DType, const PyramidArgs&);
    void sppf_forward(const Exec&, DType, const PyramidArgs&);
)
