// conv.cpp - the C API of 2-D convolution: validate the parameters and every tensor against
// the geometry they imply, then run the backend (kernels/conv/conv2d.cu, cpu/conv.cpp).
#include <climits>
#include <string>

#include "api.h"
#include "validate.h"
#include "conv/conv.h"

using namespace dk;

namespace {

[[noreturn]] void bad(const std::string& arg, const std::string& what) {
    fail(DK_ERROR_INVALID_ARGUMENT, "argument '" + arg + "': " + what);
}

std::string str(int64_t v) { return std::to_string(v); }

struct Params {
    bool nhwc;
    int64_t sh, sw, pt, pb, pl, pr, dh, dw, groups, oph, opw;
    ActParams act;
};

// A field of the params struct, named as its argument: 'params.stride_h'.
[[noreturn]] void bad_field(const char* field, const std::string& what) { bad(std::string("params.") + field, what); }

Params check_params(const dk_conv2d_params* p, bool transposed, bool allow_act) {
    if (!p) bad("params", "expected convolution parameters, got NULL");
    if (p->layout != DK_LAYOUT_NCHW && p->layout != DK_LAYOUT_NHWC)
        bad_field("layout", "must be DK_LAYOUT_NCHW (0) or DK_LAYOUT_NHWC (1), got " + str(p->layout));
    const std::pair<const char*, int32_t> pos[] = {{"stride_h", p->stride_h}, {"stride_w", p->stride_w},
                                                   {"dilation_h", p->dilation_h}, {"dilation_w", p->dilation_w},
                                                   {"groups", p->groups}};
    for (const auto& [name, v] : pos)
        if (v < 1) bad_field(name, "must be >= 1, got " + str(v));
    const std::pair<const char*, int32_t> nonneg[] = {{"pad_top", p->pad_top}, {"pad_bottom", p->pad_bottom},
                                                      {"pad_left", p->pad_left}, {"pad_right", p->pad_right},
                                                      {"output_padding_h", p->output_padding_h},
                                                      {"output_padding_w", p->output_padding_w}};
    for (const auto& [name, v] : nonneg)
        if (v < 0) bad_field(name, "must be >= 0, got " + str(v));
    if (!transposed && (p->output_padding_h || p->output_padding_w))
        bad_field(p->output_padding_h ? "output_padding_h" : "output_padding_w",
                  "is for the transposed convolution only; must be 0 here");
    if (transposed) {
        if (p->output_padding_h >= p->stride_h && p->output_padding_h >= p->dilation_h)
            bad_field("output_padding_h", str(p->output_padding_h) + " must be smaller than 'params.stride_h' or 'params.dilation_h'");
        if (p->output_padding_w >= p->stride_w && p->output_padding_w >= p->dilation_w)
            bad_field("output_padding_w", str(p->output_padding_w) + " must be smaller than 'params.stride_w' or 'params.dilation_w'");
    }
    ActParams act{0, 0.0f, 0.0f};
    if (p->activation.kind != 0) {
        if (!allow_act) bad_field("activation", "must be none (kind 0) for a gradient");
        act = check_activation(&p->activation, "params.activation");
    }
    return Params{p->layout == DK_LAYOUT_NHWC, p->stride_h, p->stride_w, p->pad_top, p->pad_bottom, p->pad_left,
                  p->pad_right, p->dilation_h, p->dilation_w, p->groups, p->output_padding_h, p->output_padding_w, act};
}

// check_tensor for the ops, check_meta for the shape queries, which read no data.
using Check = Checked (*)(const dk_context*, const char*, const dk_tensor*);

Checked floating4(Check check, const dk_context* ctx, const char* name, const dk_tensor* t, const char* dims) {
    Checked c = check(ctx, name, t);
    check_floating(c);
    if (c.shape.size() != 4) bad(name, std::string("expected a 4-D tensor ") + dims + ", got " + shape_string(c.shape));
    return c;
}

// An image tensor's (n, c, h, w) in the layout's order.
void nchw_of(const Checked& t, bool nhwc, int64_t& n, int64_t& c, int64_t& h, int64_t& w) {
    n = t.shape[0];
    c = nhwc ? t.shape[3] : t.shape[1];
    h = nhwc ? t.shape[1] : t.shape[2];
    w = nhwc ? t.shape[2] : t.shape[3];
}

Shape image_shape(bool nhwc, int64_t n, int64_t c, int64_t h, int64_t w) {
    return nhwc ? Shape{n, h, w, c} : Shape{n, c, h, w};
}

// The weight [k, cg, r, s] (NCHW) or [k, r, s, cg] (NHWC): its dims in (k, cg, r, s) order.
void weight_dims(const Checked& w, bool nhwc, int64_t& k, int64_t& cg, int64_t& r, int64_t& s) {
    k = w.shape[0];
    cg = nhwc ? w.shape[3] : w.shape[1];
    r = nhwc ? w.shape[1] : w.shape[2];
    s = nhwc ? w.shape[2] : w.shape[3];
}


// A [len] bias (check_input) or bias gradient (check_tensor) of like's dtype.
void check_vector(Check check, const dk_context* ctx, const dk_tensor* t, const char* name, int64_t len,
                  const Checked& like, Checked& out) {
    out = check(ctx, name, t);
    check_same_dtype(out, like);
    check_shape(out, {len}, "one per output channel");
}

std::string str128(__int128 v) {
    if (v >= INT64_MIN && v <= INT64_MAX) return str(int64_t(v));
    return v > 0 ? "more than 2^63" : "less than -2^63";
}

// An image's height and width must be positive: torch allows only the batch and channel dims
// to be empty.
void check_spatial(const Checked& t, int64_t h, int64_t w) {
    if (h == 0 || w == 0)
        bad(t.name, "zero height or width in shape " + shape_string(t.shape) +
                        ": only the batch and channel dims may be 0 (as in torch)");
}

// The output image [n, c, h, w] in the layout, checked to fit 64-bit byte counts; blames the
// params, whose padding, stride or dilation made it that large.
Shape output_image(const Params& p, DType dtype, int64_t n, int64_t c, int64_t h, int64_t w) {
    const Shape shape = image_shape(p.nhwc, n, c, h, w);
    int64_t numel = 1;
    for (const int64_t d : shape) numel = d == 0 || numel <= kMaxBytes / d ? numel * d : kMaxBytes + 1;
    if (numel > kMaxBytes / dtype_size(dtype))
        bad("params", "padding, stride and dilation make the output " + shape_string(shape) +
                          ", which overflows 64-bit byte counts");
    return shape;
}

// The conv geometry from the input (n, c, h, w) and the weight, checking channels, groups and
// that the dilated kernel fits the padded input; fills p and q. Sizes are formed in 128 bits:
// a dilation times a kernel extent can pass 2^63.
ConvGeom geometry(const Params& p, const Checked& xc, int64_t n, int64_t c, int64_t h, int64_t w,
                  const Checked& wc) {
    int64_t k, cg, r, s;
    weight_dims(wc, p.nhwc, k, cg, r, s);
    if (c % p.groups != 0)
        bad("params.groups", str(p.groups) + " must divide the " + str(c) + " channels of '" + xc.name + "'");
    if (cg != c / p.groups)
        bad(wc.name, "channel mismatch: " + std::string(xc.name) + " has " + str(c) + " channels in " + str(p.groups) +
                         " group(s), so the weight needs " + str(c / p.groups) + " per filter, got shape " +
                         shape_string(wc.shape) + (p.nhwc ? " ([K, R, S, C/groups] for NHWC)" : " ([K, C/groups, R, S])"));
    if (k % p.groups != 0)
        bad(wc.name, "groups (" + str(p.groups) + ") must divide its " + str(k) + " filters, got shape " + shape_string(wc.shape));
    if (r < 1 || s < 1) bad(wc.name, "kernel must be at least 1 x 1, got shape " + shape_string(wc.shape));
    check_spatial(xc, h, w);
    const __int128 eff_r = __int128(p.dh) * (r - 1) + 1, eff_s = __int128(p.dw) * (s - 1) + 1;
    const int64_t padded_h = h + p.pt + p.pb, padded_w = w + p.pl + p.pr;  // < 2^62 + 2^32
    if (padded_h < eff_r || padded_w < eff_s)
        bad(wc.name, "dilated kernel " + str128(eff_r) + " x " + str128(eff_s) + " is larger than the padded input " +
                         str(padded_h) + " x " + str(padded_w) + " of '" + xc.name + "'");
    ConvGeom g{};
    g.n = n; g.c = c; g.h = h; g.w = w; g.k = k; g.r = r; g.s = s;
    g.p = (padded_h - int64_t(eff_r)) / p.sh + 1;
    g.q = (padded_w - int64_t(eff_s)) / p.sw + 1;
    g.stride_h = p.sh; g.stride_w = p.sw; g.pad_h = p.pt; g.pad_w = p.pl;
    g.dil_h = p.dh; g.dil_w = p.dw; g.groups = p.groups; g.nhwc = p.nhwc ? 1 : 0;
    return g;
}

// A conv's image (x, or grad_x for the data gradient) and filters (w or grad_w), checked to be of
// one floating dtype in the params' layout: the geometry they fix.
ConvGeom image_and_filters(Check check_image, Check check_filters, const dk_context* ctx, const Params& p,
                           const char* image_name, const dk_tensor* image, const char* filters_name,
                           const dk_tensor* filters, Checked& ic, Checked& fc) {
    ic = floating4(check_image, ctx, image_name, image, p.nhwc ? "[N, H, W, C]" : "[N, C, H, W]");
    fc = floating4(check_filters, ctx, filters_name, filters, p.nhwc ? "[K, R, S, C/groups]" : "[K, C/groups, R, S]");
    check_same_dtype(fc, ic);
    int64_t n, c, h, wd;
    nchw_of(ic, p.nhwc, n, c, h, wd);
    const ConvGeom g = geometry(p, ic, n, c, h, wd, fc);
    output_image(p, ic.dtype, g.n, g.k, g.p, g.q);
    return g;
}

// One launch's grid: tiles of 64 rows in x (< 2^31) and 64 columns in y (<= 65535).
void check_grid(const char* name, int64_t rows, int64_t cols, const char* what) {
    if ((rows + 63) / 64 > INT32_MAX || (cols + 63) / 64 > 65535)
        fail(DK_ERROR_NOT_SUPPORTED, arg(name) + str(rows) + " " + what + " and " + str(cols) +
                                         " channels per group exceed one launch's grid");
}

// grad_out of the gradients: the dtype of like and the shape of the conv's output (what names it).
Checked output_gradient(const dk_context* ctx, const Params& p, const dk_tensor* grad_out, const ConvGeom& g,
                        const Checked& like, const char* what) {
    Checked gy = floating4(check_input, ctx, "grad_out", grad_out, p.nhwc ? "[N, P, Q, K]" : "[N, K, P, Q]");
    check_same_dtype(gy, like);
    check_shape(gy, image_shape(p.nhwc, g.n, g.k, g.p, g.q), what);
    return gy;
}

// The forward's params, x and w, checked: the geometry and the input pointers.
ConvArgs forward_inputs(Check check, const dk_context* ctx, const Params& p, const dk_tensor* x, const dk_tensor* w,
                        Checked& xc, Checked& wc) {
    ConvArgs a{};
    a.g = image_and_filters(check, check, ctx, p, "x", x, "w", w, xc, wc);
    a.act = p.act;
    a.x = xc.data;
    a.w = wc.data;
    a.tf32 = ctx->allow_tf32;
    check_grid("x", a.g.n * a.g.p * a.g.q, a.g.k / a.g.groups, "output pixels");
    return a;
}

// The transposed conv as the data gradient of the conv from its out [n, cout, ho, wo] to x
// [n, cin, h, w] through w [cin, cout/g, r, s]; its output's size from that conv's geometry,
// formed in 128 bits (a stride times an extent can pass 2^63).
ConvArgs transposed_inputs(Check check, const dk_context* ctx, const Params& p, const dk_tensor* x,
                           const dk_tensor* w, Checked& xc, Checked& wc) {
    xc = floating4(check, ctx, "x", x, p.nhwc ? "[N, H, W, C]" : "[N, C, H, W]");
    wc = floating4(check, ctx, "w", w, p.nhwc ? "[Cin, R, S, Cout/groups]" : "[Cin, Cout/groups, R, S]");
    check_same_dtype(wc, xc);
    int64_t n, cin, h, wd, k, cg, r, s;
    nchw_of(xc, p.nhwc, n, cin, h, wd);
    weight_dims(wc, p.nhwc, k, cg, r, s);
    if (k != cin)
        bad("w", "channel mismatch: its first dim must be the " + str(cin) + " channels of 'x', got shape " +
                     shape_string(wc.shape));
    if (cin % p.groups != 0) bad("params.groups", str(p.groups) + " must divide the " + str(cin) + " channels of 'x'");
    if (r < 1 || s < 1) bad("w", "kernel must be at least 1 x 1, got shape " + shape_string(wc.shape));
    check_spatial(xc, h, wd);
    const __int128 ho = __int128(h - 1) * p.sh - p.pt - p.pb + __int128(p.dh) * (r - 1) + p.oph + 1;
    const __int128 wo = __int128(wd - 1) * p.sw - p.pl - p.pr + __int128(p.dw) * (s - 1) + p.opw + 1;
    if (ho < 1 || wo < 1) bad("params", "padding leaves an empty output: " + str128(ho) + " x " + str128(wo));
    if (ho > kMaxBytes || wo > kMaxBytes)
        bad("params", "the output would be " + str128(ho) + " x " + str128(wo) + ", which overflows 64-bit byte counts");
    const int64_t cout = cg * p.groups;
    output_image(p, xc.dtype, n, cout, int64_t(ho), int64_t(wo));
    ConvArgs a{};
    a.g = ConvGeom{n, cout, int64_t(ho), int64_t(wo), cin, r, s, h, wd, p.sh, p.sw, p.pt, p.pl, p.dh, p.dw,
                   p.groups, p.nhwc ? 1 : 0};
    a.act = p.act;
    a.grad_y = xc.data;
    a.w = wc.data;
    a.tf32 = ctx->allow_tf32;
    check_grid("x", conv_data_grad_rows(a.g), cg, "input pixels per stride class");
    return a;
}

void copy_shape(const Shape& shape, int64_t* out) {
    if (!out) bad("out_shape", "expected room for " + str(int64_t(shape.size())) + " extents, got NULL");
    std::copy(shape.begin(), shape.end(), out);
}

}  // namespace

extern "C" {

DK_API dk_status dk_conv2d_forward_algorithm(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                             const dk_tensor* w, const char** name) {
    return guard_ctx("dk_conv2d_forward_algorithm", ctx, [&] {
        if (!name) bad("name", "expected a place for the result, got NULL");
        const Params p = check_params(params, false, true);
        Checked xc, wc;
        const ConvArgs a = forward_inputs(check_input, ctx, p, x, w, xc, wc);
        DK_BACKEND_CALL(ctx, conv2d_forward_algorithm, xc.dtype, a, name);
    });
}

DK_API dk_status dk_conv2d_forward(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                   const dk_tensor* w, const dk_tensor* bias, const dk_tensor* residual,
                                   dk_tensor* out) {
    return guard_ctx("dk_conv2d_forward", ctx, [&] {
        const Params p = check_params(params, false, true);
        Checked xc, wc;
        ConvArgs a = forward_inputs(check_input, ctx, p, x, w, xc, wc);
        Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, image_shape(p.nhwc, a.g.n, a.g.k, a.g.p, a.g.q), "the convolution's output");
        check_disjoint(oc, xc);
        check_disjoint(oc, wc);
        a.y = oc.data;
        if (bias) {
            Checked bc;
            check_vector(check_input, ctx, bias, "bias", a.g.k, xc, bc);
            check_disjoint(oc, bc);
            a.bias = bc.data;
        }
        if (residual) {
            Checked rc = check_input(ctx, "residual", residual);
            check_same_dtype(rc, xc);
            check_same_shape(rc, oc);
            check_no_partial_overlap(oc, rc);  // residual may be out itself
            a.residual = rc.data;
        }
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, conv2d_forward, xc.dtype, a, workspace);
    });
}

DK_API dk_status dk_conv2d_backward_data(dk_context* ctx, const dk_conv2d_params* params,
                                         const dk_tensor* grad_out, const dk_tensor* w, dk_tensor* grad_x) {
    return guard_ctx("dk_conv2d_backward_data", ctx, [&] {
        const Params p = check_params(params, false, false);
        Checked gx, wc;
        ConvArgs a{};
        a.g = image_and_filters(check_tensor, check_input, ctx, p, "grad_x", grad_x, "w", w, gx, wc);
        Checked gy = output_gradient(ctx, p, grad_out, a.g, gx, "the output of the convolution of 'grad_x''s shape");
        check_grid("grad_x", conv_data_grad_rows(a.g), a.g.c / a.g.groups, "input pixels per stride class");
        check_disjoint(gx, gy);
        check_disjoint(gx, wc);
        a.grad_y = gy.data;
        a.w = wc.data;
        a.dx = gx.data;
        a.tf32 = ctx->allow_tf32;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, conv2d_backward_data, gx.dtype, a, workspace);
    });
}

DK_API dk_status dk_conv2d_backward_weight(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                           const dk_tensor* grad_out, dk_tensor* grad_w, dk_tensor* grad_bias) {
    return guard_ctx("dk_conv2d_backward_weight", ctx, [&] {
        const Params p = check_params(params, false, false);
        Checked xc, gw;
        ConvArgs a{};
        a.g = image_and_filters(check_input, check_tensor, ctx, p, "x", x, "grad_w", grad_w, xc, gw);
        Checked gy = output_gradient(ctx, p, grad_out, a.g, xc, "the convolution's output");
        check_disjoint(gw, xc);
        check_disjoint(gw, gy);
        a.x = xc.data;
        a.grad_y = gy.data;
        a.dw = gw.data;
        a.tf32 = ctx->allow_tf32;
        if (grad_bias) {
            Checked gb;
            check_vector(check_tensor, ctx, grad_bias, "grad_bias", a.g.k, xc, gb);
            check_disjoint(gb, xc);
            check_disjoint(gb, gy);
            check_disjoint(gb, gw);
            a.db = gb.data;
        }
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, conv2d_backward_weight, xc.dtype, a, workspace);
    });
}

DK_API dk_status dk_conv_transpose2d_forward(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                             const dk_tensor* w, const dk_tensor* bias, dk_tensor* out) {
    return guard_ctx("dk_conv_transpose2d_forward", ctx, [&] {
        const Params p = check_params(params, true, true);
        Checked xc, wc;
        ConvArgs a = transposed_inputs(check_input, ctx, p, x, w, xc, wc);
        const ConvGeom& g = a.g;
        Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, image_shape(p.nhwc, g.n, g.c, g.h, g.w), "the transposed convolution's output");
        check_disjoint(oc, xc);
        check_disjoint(oc, wc);
        a.dx = oc.data;
        if (bias) {
            Checked bc;
            check_vector(check_input, ctx, bias, "bias", g.c, xc, bc);
            check_disjoint(oc, bc);
            a.bias = bc.data;
        }
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, conv2d_backward_data, xc.dtype, a, workspace);
    });
}

DK_API dk_status dk_conv2d_output_shape(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                        const dk_tensor* w, int64_t* out_shape) {
    return guard_ctx("dk_conv2d_output_shape", ctx, [&] {
        const Params p = check_params(params, false, true);
        Checked xc, wc;
        const ConvGeom g = forward_inputs(check_meta, ctx, p, x, w, xc, wc).g;
        copy_shape(image_shape(p.nhwc, g.n, g.k, g.p, g.q), out_shape);
    });
}

DK_API dk_status dk_conv_transpose2d_output_shape(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                                  const dk_tensor* w, int64_t* out_shape) {
    return guard_ctx("dk_conv_transpose2d_output_shape", ctx, [&] {
        const Params p = check_params(params, true, true);
        Checked xc, wc;
        const ConvGeom g = transposed_inputs(check_meta, ctx, p, x, w, xc, wc).g;
        copy_shape(image_shape(p.nhwc, g.n, g.c, g.h, g.w), out_shape);
    });
}

}  // extern "C"
