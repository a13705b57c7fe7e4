// resize.cpp - the C API of resizing: validate the parameters and the tensors (torch's rules for
// F.interpolate), then run the backend (kernels/resize/resize.cu, cpu/resize.cpp).
#include <cmath>
#include <string>

#include "api.h"
#include "validate.h"
#include "resize/resize.h"

using namespace dk;

namespace {

[[noreturn]] void bad(const std::string& arg, const std::string& what) {
    fail(DK_ERROR_INVALID_ARGUMENT, "argument '" + arg + "': " + what);
}

std::string str(double v) {
    std::string s = std::to_string(v);
    return s;
}
std::string str(int64_t v) { return std::to_string(v); }

void check_params(const dk_interpolate_params* p, const char* name, bool scales) {
    const std::string field = std::string(name) + ".";
    if (!p) bad(name, "expected interpolation parameters, got NULL");
    if (p->layout != DK_LAYOUT_NCHW && p->layout != DK_LAYOUT_NHWC)
        bad(field + "layout", "must be DK_LAYOUT_NCHW (0) or DK_LAYOUT_NHWC (1), got " + str(int64_t(p->layout)));
    if (p->mode < DK_INTERP_NEAREST || p->mode > DK_INTERP_BICUBIC)
        bad(field + "mode", "must be a dk_interp_mode (0 to 3), got " + str(int64_t(p->mode)));
    const bool interpolating = p->mode == DK_INTERP_BILINEAR || p->mode == DK_INTERP_BICUBIC;
    const std::pair<const char*, int32_t> flags[] = {{"align_corners", p->align_corners}, {"antialias", p->antialias}};
    for (const auto& [flag, v] : flags) {
        if (v != 0 && v != 1) bad(field + flag, "must be 0 or 1, got " + str(int64_t(v)));
        if (v && !interpolating) bad(field + flag, "is for the bilinear and bicubic modes only (as in torch)");
    }
    if (!scales) return;
    const std::pair<const char*, double> factors[] = {{"scale_h", p->scale_h}, {"scale_w", p->scale_w}};
    for (const auto& [f, v] : factors)
        if (!(v >= 0) || !std::isfinite(v)) bad(field + f, "must be 0 (none) or a finite scale factor > 0, got " + str(v));
}

// x's (n, c, h, w) in the layout, checked as an image.
void image_dims(const Checked& x, bool nhwc, int64_t& n, int64_t& c, int64_t& h, int64_t& w) {
    check_floating(x);
    if (x.shape.size() != 4)
        bad(x.name, std::string("expected a 4-D tensor ") + (nhwc ? "[N, H, W, C]" : "[N, C, H, W]") + ", got " +
                        shape_string(x.shape));
    n = x.shape[0];
    c = nhwc ? x.shape[3] : x.shape[1];
    h = nhwc ? x.shape[1] : x.shape[2];
    w = nhwc ? x.shape[2] : x.shape[3];
    if (c == 0 || h == 0 || w == 0)
        bad(x.name, "zero channels, height or width in shape " + shape_string(x.shape) + ": only the batch dim may be 0");
}

InterpAxis axis(const dk_interpolate_params* p, int64_t in, int64_t out, double factor) {
    return InterpAxis{in, out, interp_scale(in, out, factor, p->align_corners != 0), InterpMode(p->mode),
                      p->align_corners != 0, p->antialias != 0};
}

// The resize from `from` (x or grad_x) to `to` (out or grad_out): same dtype, N and C.
ResizeArgs geometry(const dk_interpolate_params* p, const Checked& from, const Checked& to) {
    const bool nhwc = p->layout == DK_LAYOUT_NHWC;
    int64_t n, c, h, w, n2, c2, oh, ow;
    image_dims(from, nhwc, n, c, h, w);
    check_same_dtype(to, from);
    image_dims(to, nhwc, n2, c2, oh, ow);
    if (n2 != n || c2 != c)
        bad(to.name, "expected the batch and channels of '" + std::string(from.name) + "' " + shape_string(from.shape) +
                         ", got " + shape_string(to.shape));
    return ResizeArgs{nullptr, nullptr, n, c, axis(p, h, oh, p->scale_h), axis(p, w, ow, p->scale_w), nhwc};
}

// The pyramid's levels (sizes into a, offsets included) for an image of h x w.
void levels(const dk_image_pyramid_params* p, int64_t n, int64_t c, int64_t h, int64_t w, ImagePyramidArgs& a) {
    if (!(p->min_size > 0) || !std::isfinite(p->min_size))
        bad("params.min_size", "must be a finite size > 0, got " + str(p->min_size));
    if (!(p->min_object >= p->min_size) || !std::isfinite(p->min_object))
        bad("params.min_object", "must be finite and >= min_size (" + str(p->min_size) + "), got " + str(p->min_object));
    if (!(p->factor > 0 && p->factor < 1)) bad("params.factor", "must be in (0, 1), got " + str(p->factor));
    // MTCNN's loop (facenet-pytorch's detect_face): the scale and the short side shrink together
    double scale = p->min_size / p->min_object, side = double(h < w ? h : w) * scale;
    a.levels = 0;
    int64_t offset = 0;
    for (; side >= p->min_size; scale *= p->factor, side *= p->factor) {
        if (a.levels == kMaxImageLevels)
            bad("params.factor", str(p->factor) + " makes more than " + str(int64_t(kMaxImageLevels)) +
                                     " levels for a " + str(h) + "x" + str(w) + " image");
        const int64_t lh = int64_t(std::ceil(double(h) * scale)), lw = int64_t(std::ceil(double(w) * scale));
        a.h[a.levels] = axis(&p->resize, h, lh, 0);
        a.w[a.levels] = axis(&p->resize, w, lw, 0);
        a.offset[a.levels++] = offset;
        offset += n * c * lh * lw;
    }
}

ImagePyramidArgs pyramid(const dk_image_pyramid_params* p, const Checked& x) {
    if (!p) bad("params", "expected image pyramid parameters, got NULL");
    check_params(&p->resize, "params.resize", false);
    ImagePyramidArgs a{};
    a.nhwc = p->resize.layout == DK_LAYOUT_NHWC;
    int64_t h, w;
    image_dims(x, a.nhwc, a.n, a.c, h, w);
    levels(p, a.n, a.c, h, w, a);
    return a;
}

int64_t packed_size(const ImagePyramidArgs& a) {
    int64_t total = 0;
    for (int l = 0; l < a.levels; ++l) total += a.n * a.c * a.h[l].out * a.w[l].out;
    return total;
}

}  // namespace

extern "C" {

DK_API dk_status dk_interpolate_forward(dk_context* ctx, const dk_interpolate_params* params, const dk_tensor* x,
                                        dk_tensor* out) {
    return guard_ctx("dk_interpolate_forward", ctx, [&] {
        check_params(params, "params", true);
        const Checked xc = check_input(ctx, "x", x), oc = check_tensor(ctx, "out", out);
        ResizeArgs a = geometry(params, xc, oc);
        check_disjoint(oc, xc);
        a.src = xc.data;
        a.dst = oc.data;
        DK_BACKEND_CALL(ctx, resize_forward, xc.dtype, a);
    });
}

DK_API dk_status dk_interpolate_backward(dk_context* ctx, const dk_interpolate_params* params,
                                         const dk_tensor* grad_out, dk_tensor* grad_x) {
    return guard_ctx("dk_interpolate_backward", ctx, [&] {
        check_params(params, "params", true);
        const Checked gx = check_tensor(ctx, "grad_x", grad_x), go = check_input(ctx, "grad_out", grad_out);
        ResizeArgs a = geometry(params, gx, go);
        check_disjoint(gx, go);
        a.src = go.data;
        a.dst = gx.data;
        DK_BACKEND_CALL(ctx, resize_backward, gx.dtype, a);
    });
}

DK_API dk_status dk_image_pyramid_levels(dk_context* ctx, const dk_image_pyramid_params* params, const dk_tensor* x,
                                         int64_t* sizes, int32_t* count) {
    return guard_ctx("dk_image_pyramid_levels", ctx, [&] {
        if (!sizes || !count) bad(sizes ? "count" : "sizes", "expected somewhere to write, got NULL");
        const ImagePyramidArgs a = pyramid(params, check_meta(ctx, "x", x));
        for (int l = 0; l < a.levels; ++l) {
            sizes[2 * l] = a.h[l].out;
            sizes[2 * l + 1] = a.w[l].out;
        }
        *count = a.levels;
    });
}

DK_API dk_status dk_image_pyramid_forward(dk_context* ctx, const dk_image_pyramid_params* params, const dk_tensor* x,
                                          dk_tensor* out) {
    return guard_ctx("dk_image_pyramid_forward", ctx, [&] {
        const Checked xc = check_input(ctx, "x", x);
        ImagePyramidArgs a = pyramid(params, xc);
        const Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, {packed_size(a)}, "every level packed");
        check_disjoint(oc, xc);
        a.x = xc.data;
        a.out = oc.data;
        DK_BACKEND_CALL(ctx, image_pyramid, xc.dtype, a);
    });
}

}  // extern "C"
