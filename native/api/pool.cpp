// pool.cpp - the C API of 2-D pooling: validate the parameters and the tensors against the
// geometry they imply (torch's rules), then run the backend (kernels/pool/pool.cu, cpu/pool.cpp).
#include <string>

#include "api.h"
#include "validate.h"
#include "pool/pool.h"

using namespace dk;

namespace {

[[noreturn]] void bad(const std::string& arg, const std::string& what) {
    fail(DK_ERROR_INVALID_ARGUMENT, "argument '" + arg + "': " + what);
}

std::string str(int64_t v) { return std::to_string(v); }

[[noreturn]] void bad_field(const char* field, const std::string& what) { bad(std::string("params.") + field, what); }

void check_params(const dk_pool2d_params* p) {
    if (!p) bad("params", "expected pooling parameters, got NULL");
    if (p->layout != DK_LAYOUT_NCHW && p->layout != DK_LAYOUT_NHWC)
        bad_field("layout", "must be DK_LAYOUT_NCHW (0) or DK_LAYOUT_NHWC (1), got " + str(p->layout));
    if (p->kind != DK_POOL_MAX && p->kind != DK_POOL_AVG)
        bad_field("kind", "must be DK_POOL_MAX (0) or DK_POOL_AVG (1), got " + str(p->kind));
    const std::pair<const char*, int32_t> flags[] = {{"adaptive", p->adaptive}, {"ceil_mode", p->ceil_mode},
                                                     {"count_include_pad", p->count_include_pad}};
    for (const auto& [name, v] : flags)
        if (v != 0 && v != 1) bad_field(name, "must be 0 or 1, got " + str(v));
    if (p->adaptive) {
        if (p->output_h < 0 || p->output_w < 0)
            bad_field(p->output_h < 0 ? "output_h" : "output_w",
                      "must be >= 0, got " + str(p->output_h < 0 ? p->output_h : p->output_w));
        return;
    }
    const std::pair<const char*, int32_t> pos[] = {{"kernel_h", p->kernel_h}, {"kernel_w", p->kernel_w},
                                                   {"stride_h", p->stride_h}, {"stride_w", p->stride_w},
                                                   {"dilation_h", p->dilation_h}, {"dilation_w", p->dilation_w}};
    for (const auto& [name, v] : pos)
        if (v < 1) bad_field(name, "must be >= 1, got " + str(v));
    const std::pair<const char*, int32_t> pads[] = {{"pad_h", p->pad_h}, {"pad_w", p->pad_w}};
    for (int i = 0; i < 2; ++i) {
        const int32_t k = i == 0 ? p->kernel_h : p->kernel_w;
        if (pads[i].second < 0 || pads[i].second > k / 2)
            bad_field(pads[i].first, "must be in [0, kernel / 2] = [0, " + str(k / 2) + "] (as in torch), got " +
                                         str(pads[i].second));
    }
    if (p->kind == DK_POOL_AVG && (p->dilation_h != 1 || p->dilation_w != 1))
        bad_field(p->dilation_h != 1 ? "dilation_h" : "dilation_w", "must be 1 for average pooling (torch's avg_pool2d has none)");
    if (p->kind == DK_POOL_MAX && (p->count_include_pad || p->divisor_override))
        bad_field(p->count_include_pad ? "count_include_pad" : "divisor_override", "is for average pooling only; must be 0");
}

using Check = Checked (*)(const dk_context*, const char*, const dk_tensor*);

// The geometry of x under p: PoolArgs without pointers, and the output shape.
struct Geometry {
    PoolArgs a{};
    Shape out;
};

Geometry geometry(const dk_pool2d_params* p, const Checked& x) {
    check_floating(x);
    if (x.shape.size() != 4)
        bad(x.name, std::string("expected a 4-D tensor ") + (p->layout == DK_LAYOUT_NHWC ? "[N, H, W, C]" : "[N, C, H, W]") +
                        ", got " + shape_string(x.shape));
    const bool nhwc = p->layout == DK_LAYOUT_NHWC;
    Geometry g;
    PoolArgs& a = g.a;
    a.nhwc = nhwc;
    a.n = x.shape[0];
    a.c = nhwc ? x.shape[3] : x.shape[1];
    const int64_t h = nhwc ? x.shape[1] : x.shape[2], w = nhwc ? x.shape[2] : x.shape[3];
    if (a.c == 0 || h == 0 || w == 0)
        bad(x.name, "zero channels, height or width in shape " + shape_string(x.shape) + ": only the batch dim may be 0 (as in torch)");
    a.kind = p->kind == DK_POOL_MAX ? PoolKind::max : PoolKind::avg;
    a.count_include_pad = p->count_include_pad != 0;
    a.divisor = p->kind == DK_POOL_AVG ? p->divisor_override : 0;
    if (p->adaptive) {
        a.h = PoolAxis{h, p->output_h, 0, 1, 0, 1, true};
        a.w = PoolAxis{w, p->output_w, 0, 1, 0, 1, true};
    } else {
        const int64_t oh = pool_output_size(h, p->kernel_h, p->stride_h, p->pad_h, p->dilation_h, p->ceil_mode);
        const int64_t ow = pool_output_size(w, p->kernel_w, p->stride_w, p->pad_w, p->dilation_w, p->ceil_mode);
        if (oh < 1 || ow < 1)
            bad("params", "the window (kernel " + str(p->kernel_h) + "x" + str(p->kernel_w) + ", dilation " +
                              str(p->dilation_h) + "x" + str(p->dilation_w) + ", padding " + str(p->pad_h) + "x" +
                              str(p->pad_w) + ") does not fit the " + str(h) + "x" + str(w) + " image of '" + x.name +
                              "': the output would be " + str(oh) + "x" + str(ow));
        a.h = PoolAxis{h, oh, p->kernel_h, p->stride_h, p->pad_h, p->dilation_h, false};
        a.w = PoolAxis{w, ow, p->kernel_w, p->stride_w, p->pad_w, p->dilation_w, false};
    }
    g.out = nhwc ? Shape{a.n, a.h.out, a.w.out, a.c} : Shape{a.n, a.c, a.h.out, a.w.out};
    checked_numel("params", g.out, x.dtype);
    return g;
}

// indices: int64 shaped like the output (out / grad_out), for max pooling only.
Checked check_indices(const dk_context* ctx, Check check, const dk_pool2d_params* p, const char* name,
                      const dk_tensor* t, const Shape& shape) {
    if (p->kind != DK_POOL_MAX) bad(name, "average pooling has no indices: pass NULL");
    Checked ic = check(ctx, name, t);
    check_dtype(ic, DType::i64);
    check_shape(ic, shape, "one per output element");
    return ic;
}

// The pyramid's geometry for x under p (pointers unset) and its output shape.
PyramidArgs pyramid(const dk_pyramid_pool_params* p, const Checked& x, Shape& out) {
    if (!p) bad("params", "expected pyramid parameters, got NULL");
    if (p->layout != DK_LAYOUT_NCHW && p->layout != DK_LAYOUT_NHWC)
        bad_field("layout", "must be DK_LAYOUT_NCHW (0) or DK_LAYOUT_NHWC (1), got " + str(p->layout));
    if (p->kind != DK_PYRAMID_SPP && p->kind != DK_PYRAMID_SPPF)
        bad_field("kind", "must be DK_PYRAMID_SPP (0) or DK_PYRAMID_SPPF (1), got " + str(p->kind));
    PyramidArgs a{};
    if (p->kind == DK_PYRAMID_SPP) {
        if (p->num_levels < 1 || p->num_levels > kMaxPyramidLevels)
            bad_field("num_levels", "must be in [1, " + str(kMaxPyramidLevels) + "], got " + str(p->num_levels));
        a.levels = p->num_levels;
        for (int l = 0; l < a.levels; ++l) {
            if (p->levels[l] < 1 || p->levels[l] > 65536)
                bad_field("levels", "level " + str(l) + " must be a grid size in [1, 65536], got " + str(p->levels[l]));
            a.size[l] = p->levels[l];
            a.bins += int64_t(p->levels[l]) * p->levels[l];
        }
    } else if (p->kernel < 1 || p->kernel > 13 || p->kernel % 2 == 0) {
        bad_field("kernel", "must be odd, in [1, 13], got " + str(p->kernel));
    }
    a.kernel = p->kernel;
    check_floating(x);
    a.nhwc = p->layout == DK_LAYOUT_NHWC;
    if (x.shape.size() != 4)
        bad(x.name, std::string("expected a 4-D tensor ") + (a.nhwc ? "[N, H, W, C]" : "[N, C, H, W]") + ", got " +
                        shape_string(x.shape));
    a.n = x.shape[0];
    a.c = a.nhwc ? x.shape[3] : x.shape[1];
    a.h = a.nhwc ? x.shape[1] : x.shape[2];
    a.w = a.nhwc ? x.shape[2] : x.shape[3];
    if (a.c == 0 || a.h == 0 || a.w == 0)
        bad(x.name, "zero channels, height or width in shape " + shape_string(x.shape) + ": only the batch dim may be 0");
    if (p->kind == DK_PYRAMID_SPP) out = Shape{a.n, a.c * a.bins};
    else out = a.nhwc ? Shape{a.n, a.h, a.w, 4 * a.c} : Shape{a.n, 4 * a.c, a.h, a.w};
    checked_numel("params", out, x.dtype);
    return a;
}

}  // namespace

extern "C" {

DK_API dk_status dk_pyramid_pool_output_shape(dk_context* ctx, const dk_pyramid_pool_params* params,
                                              const dk_tensor* x, int64_t* out_shape, int32_t* out_ndim) {
    return guard_ctx("dk_pyramid_pool_output_shape", ctx, [&] {
        if (!out_shape || !out_ndim) bad(out_shape ? "out_ndim" : "out_shape", "expected somewhere to write, got NULL");
        Shape out;
        pyramid(params, check_meta(ctx, "x", x), out);
        write_shape(out, out_shape, out_ndim);
    });
}

DK_API dk_status dk_pyramid_pool_forward(dk_context* ctx, const dk_pyramid_pool_params* params, const dk_tensor* x,
                                         dk_tensor* out) {
    return guard_ctx("dk_pyramid_pool_forward", ctx, [&] {
        const Checked xc = check_input(ctx, "x", x);
        Shape shape;
        PyramidArgs a = pyramid(params, xc, shape);
        const Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, shape, params->kind == DK_PYRAMID_SPP ? "[N, C * sum(levels^2)]" : "the four stages' channels");
        check_disjoint(oc, xc);
        a.x = xc.data;
        a.out = oc.data;
        if (params->kind == DK_PYRAMID_SPP) DK_BACKEND_CALL(ctx, spp_forward, xc.dtype, a);
        else DK_BACKEND_CALL(ctx, sppf_forward, xc.dtype, a);
    });
}

DK_API dk_status dk_pool2d_output_shape(dk_context* ctx, const dk_pool2d_params* params, const dk_tensor* x,
                                        int64_t* out_shape) {
    return guard_ctx("dk_pool2d_output_shape", ctx, [&] {
        check_params(params);
        if (!out_shape) bad("out_shape", "expected room for 4 extents, got NULL");
        const Geometry g = geometry(params, check_meta(ctx, "x", x));
        for (int i = 0; i < 4; ++i) out_shape[i] = g.out[i];
    });
}

DK_API dk_status dk_pool2d_forward(dk_context* ctx, const dk_pool2d_params* params, const dk_tensor* x,
                                   dk_tensor* out, dk_tensor* indices) {
    return guard_ctx("dk_pool2d_forward", ctx, [&] {
        check_params(params);
        const Checked xc = check_input(ctx, "x", x);
        Geometry g = geometry(params, xc);
        const Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, g.out, "the pooled image");
        check_disjoint(oc, xc);
        if (indices) {
            const Checked ic = check_indices(ctx, check_tensor, params, "indices", indices, g.out);
            check_disjoint(ic, xc);
            check_disjoint(ic, oc);
            g.a.indices = static_cast<int64_t*>(ic.data);
        }
        g.a.src = xc.data;
        g.a.dst = oc.data;
        DK_BACKEND_CALL(ctx, pool2d_forward, xc.dtype, g.a);
    });
}

DK_API dk_status dk_pool2d_backward(dk_context* ctx, const dk_pool2d_params* params, const dk_tensor* grad_out,
                                    const dk_tensor* indices, dk_tensor* grad_x) {
    return guard_ctx("dk_pool2d_backward", ctx, [&] {
        check_params(params);
        const Checked gx = check_tensor(ctx, "grad_x", grad_x);
        Geometry g = geometry(params, gx);
        const Checked go = check_input(ctx, "grad_out", grad_out);
        check_same_dtype(go, gx);
        check_shape(go, g.out, "the forward's output for grad_x's shape");
        check_disjoint(gx, go);
        if (params->kind == DK_POOL_MAX) {
            if (!indices) bad("indices", "max pooling's gradient needs the forward's indices, got NULL");
            const Checked ic = check_indices(ctx, check_input, params, "indices", indices, g.out);
            check_disjoint(gx, ic);
            g.a.indices = static_cast<int64_t*>(ic.data);
        } else if (indices) {
            bad("indices", "average pooling has no indices: pass NULL");
        }
        g.a.src = go.data;
        g.a.dst = gx.data;
        DK_BACKEND_CALL(ctx, pool2d_backward, gx.dtype, g.a);
    });
}

}  // extern "C"
