// conv_ops.cpp - the C API of 2-D convolution: validate the parameters and every tensor against
// the geometry they imply, then run the backend (kernels/conv2d.cu, cpu/conv2d.cpp).
#include <climits>
#include <string>

#include "api.h"
#include "validate.h"

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

Params check_params(const dk_conv2d_params* p, bool transposed, bool allow_act) {
    if (!p) bad("params", "expected convolution parameters, got NULL");
    if (p->layout != DK_LAYOUT_NCHW && p->layout != DK_LAYOUT_NHWC)
        bad("params", "layout must be DK_LAYOUT_NCHW (0) or DK_LAYOUT_NHWC (1), got " + str(p->layout));
    const std::pair<const char*, int32_t> pos[] = {{"stride_h", p->stride_h}, {"stride_w", p->stride_w},
                                                   {"dilation_h", p->dilation_h}, {"dilation_w", p->dilation_w},
                                                   {"groups", p->groups}};
    for (const auto& [name, v] : pos)
        if (v < 1) bad("params", std::string(name) + " must be >= 1, got " + str(v));
    const std::pair<const char*, int32_t> nonneg[] = {{"pad_top", p->pad_top}, {"pad_bottom", p->pad_bottom},
                                                      {"pad_left", p->pad_left}, {"pad_right", p->pad_right},
                                                      {"output_padding_h", p->output_padding_h},
                                                      {"output_padding_w", p->output_padding_w}};
    for (const auto& [name, v] : nonneg)
        if (v < 0) bad("params", std::string(name) + " must be >= 0, got " + str(v));
    if (!transposed && (p->output_padding_h || p->output_padding_w))
        bad("params", "output_padding is for the transposed convolution only; must be 0 here");
    if (transposed) {
        if (p->output_padding_h >= p->stride_h && p->output_padding_h >= p->dilation_h)
            bad("params", "output_padding_h (" + str(p->output_padding_h) + ") must be smaller than stride_h or dilation_h");
        if (p->output_padding_w >= p->stride_w && p->output_padding_w >= p->dilation_w)
            bad("params", "output_padding_w (" + str(p->output_padding_w) + ") must be smaller than stride_w or dilation_w");
    }
    ActParams act{0, 0.0f, 0.0f};
    if (p->activation.kind != 0) {
        if (!allow_act) bad("params", "activation must be none (kind 0) for a gradient");
        act = check_activation(&p->activation);
    }
    return Params{p->layout == DK_LAYOUT_NHWC, p->stride_h, p->stride_w, p->pad_top, p->pad_bottom, p->pad_left,
                  p->pad_right, p->dilation_h, p->dilation_w, p->groups, p->output_padding_h, p->output_padding_w, act};
}

Checked floating4(const dk_context* ctx, const char* name, const dk_tensor* t, const char* dims) {
    Checked c = check_tensor(ctx, name, t);
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

std::vector<int64_t> image_shape(bool nhwc, int64_t n, int64_t c, int64_t h, int64_t w) {
    return nhwc ? std::vector<int64_t>{n, h, w, c} : std::vector<int64_t>{n, c, h, w};
}

// The weight [k, cg, r, s] (NCHW) or [k, r, s, cg] (NHWC): its dims in (k, cg, r, s) order.
void weight_dims(const Checked& w, bool nhwc, int64_t& k, int64_t& cg, int64_t& r, int64_t& s) {
    k = w.shape[0];
    cg = nhwc ? w.shape[3] : w.shape[1];
    r = nhwc ? w.shape[1] : w.shape[2];
    s = nhwc ? w.shape[2] : w.shape[3];
}


void check_vector(const dk_context* ctx, const dk_tensor* t, const char* name, int64_t len, const Checked& like,
                  Checked& out) {
    out = check_tensor(ctx, name, t);
    check_same_dtype(out, like);
    check_shape(out, {len}, "one per output channel");
}

// The conv geometry from the input (n, c, h, w) and the weight, checking channels, groups and
// that the dilated kernel fits the padded input; fills p and q.
ConvGeom geometry(const Params& p, const Checked& xc, int64_t n, int64_t c, int64_t h, int64_t w,
                  const Checked& wc, const char* x_name) {
    int64_t k, cg, r, s;
    weight_dims(wc, p.nhwc, k, cg, r, s);
    if (c % p.groups != 0)
        bad("params", "groups (" + str(p.groups) + ") must divide the " + str(c) + " channels of '" + x_name + "'");
    if (cg != c / p.groups)
        bad(wc.name, "channel mismatch: " + std::string(x_name) + " has " + str(c) + " channels in " + str(p.groups) +
                         " group(s), so the weight needs " + str(c / p.groups) + " per filter, got shape " +
                         shape_string(wc.shape) + (p.nhwc ? " ([K, R, S, C/groups] for NHWC)" : " ([K, C/groups, R, S])"));
    if (k % p.groups != 0)
        bad(wc.name, "groups (" + str(p.groups) + ") must divide its " + str(k) + " filters, got shape " + shape_string(wc.shape));
    if (r < 1 || s < 1) bad(wc.name, "kernel must be at least 1 x 1, got shape " + shape_string(wc.shape));
    const int64_t eff_r = p.dh * (r - 1) + 1, eff_s = p.dw * (s - 1) + 1;
    if (h + p.pt + p.pb < eff_r || w + p.pl + p.pr < eff_s)
        bad(wc.name, "dilated kernel " + str(eff_r) + " x " + str(eff_s) + " is larger than the padded input " +
                         str(h + p.pt + p.pb) + " x " + str(w + p.pl + p.pr) + " of '" + x_name + "'");
    (void)xc;
    ConvGeom g{};
    g.n = n; g.c = c; g.h = h; g.w = w; g.k = k; g.r = r; g.s = s;
    g.p = (h + p.pt + p.pb - eff_r) / p.sh + 1;
    g.q = (w + p.pl + p.pr - eff_s) / p.sw + 1;
    g.stride_h = p.sh; g.stride_w = p.sw; g.pad_h = p.pt; g.pad_w = p.pl;
    g.dil_h = p.dh; g.dil_w = p.dw; g.groups = p.groups; g.nhwc = p.nhwc ? 1 : 0;
    return g;
}

// A conv's image (x, or grad_x for the data gradient) and filters (w or grad_w), checked to be of
// one floating dtype in the params' layout: the geometry they fix.
ConvGeom image_and_filters(const dk_context* ctx, const Params& p, const char* image_name, const dk_tensor* image,
                           const char* filters_name, const dk_tensor* filters, Checked& ic, Checked& fc) {
    ic = floating4(ctx, image_name, image, p.nhwc ? "[N, H, W, C]" : "[N, C, H, W]");
    fc = floating4(ctx, filters_name, filters, p.nhwc ? "[K, R, S, C/groups]" : "[K, C/groups, R, S]");
    check_same_dtype(fc, ic);
    int64_t n, c, h, wd;
    nchw_of(ic, p.nhwc, n, c, h, wd);
    return geometry(p, ic, n, c, h, wd, fc, image_name);
}

// grad_out of the gradients: the dtype of like and the shape of the conv's output (what names it).
Checked output_gradient(const dk_context* ctx, const Params& p, const dk_tensor* grad_out, const ConvGeom& g,
                        const Checked& like, const char* what) {
    Checked gy = floating4(ctx, "grad_out", grad_out, p.nhwc ? "[N, P, Q, K]" : "[N, K, P, Q]");
    check_same_dtype(gy, like);
    check_shape(gy, image_shape(p.nhwc, g.n, g.k, g.p, g.q), what);
    return gy;
}

// The forward's params, x and w, checked: the geometry and the input pointers.
ConvArgs forward_inputs(const dk_context* ctx, const Params& p, const dk_tensor* x, const dk_tensor* w, Checked& xc,
                        Checked& wc) {
    ConvArgs a{};
    a.g = image_and_filters(ctx, p, "x", x, "w", w, xc, wc);
    a.act = p.act;
    a.x = xc.data;
    a.w = wc.data;
    // the forward grid: 64-pixel tiles in x (< 2^31), 64-channel tiles in y (<= 65535)
    if ((a.g.n * a.g.p * a.g.q + 63) / 64 > INT32_MAX || (a.g.k / a.g.groups + 63) / 64 > 65535)
        fail(DK_ERROR_NOT_SUPPORTED, "argument 'x': " + str(a.g.n * a.g.p * a.g.q) + " output pixels and " +
                                         str(a.g.k / a.g.groups) + " filters per group exceed one launch's grid");
    return a;
}

}  // namespace

extern "C" {

DK_API dk_status dk_conv2d_forward_algorithm(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                             const dk_tensor* w, const char** name) {
    return guard_ctx("dk_conv2d_forward_algorithm", ctx, [&] {
        if (!name) bad("name", "expected a place for the result, got NULL");
        const Params p = check_params(params, false, true);
        Checked xc, wc;
        const ConvArgs a = forward_inputs(ctx, p, x, w, xc, wc);
        DK_BACKEND_CALL(ctx, conv2d_forward_algorithm, xc.dtype, a, name);
    });
}

DK_API dk_status dk_conv2d_forward(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                   const dk_tensor* w, const dk_tensor* bias, const dk_tensor* residual,
                                   dk_tensor* out) {
    return guard_ctx("dk_conv2d_forward", ctx, [&] {
        const Params p = check_params(params, false, true);
        Checked xc, wc;
        ConvArgs a = forward_inputs(ctx, p, x, w, xc, wc);
        Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, image_shape(p.nhwc, a.g.n, a.g.k, a.g.p, a.g.q), "the convolution's output");
        check_disjoint(oc, xc);
        check_disjoint(oc, wc);
        a.y = oc.data;
        if (bias) {
            Checked bc;
            check_vector(ctx, bias, "bias", a.g.k, xc, bc);
            check_disjoint(oc, bc);
            a.bias = bc.data;
        }
        if (residual) {
            Checked rc = check_tensor(ctx, "residual", residual);
            check_same_dtype(rc, xc);
            check_same_shape(rc, oc);
            check_no_partial_overlap(oc, rc);  // residual may be out itself
            a.residual = rc.data;
        }
        DK_BACKEND_CALL(ctx, conv2d_forward, xc.dtype, a);
    });
}

DK_API dk_status dk_conv2d_backward_data(dk_context* ctx, const dk_conv2d_params* params,
                                         const dk_tensor* grad_out, const dk_tensor* w, dk_tensor* grad_x) {
    return guard_ctx("dk_conv2d_backward_data", ctx, [&] {
        const Params p = check_params(params, false, false);
        Checked gx, wc;
        ConvArgs a{};
        a.g = image_and_filters(ctx, p, "grad_x", grad_x, "w", w, gx, wc);
        Checked gy = output_gradient(ctx, p, grad_out, a.g, gx, "the output of the convolution of 'grad_x''s shape");
        check_disjoint(gx, gy);
        check_disjoint(gx, wc);
        a.grad_y = gy.data;
        a.w = wc.data;
        a.dx = gx.data;
        DK_BACKEND_CALL(ctx, conv2d_backward_data, gx.dtype, a);
    });
}

DK_API dk_status dk_conv2d_backward_weight(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                           const dk_tensor* grad_out, dk_tensor* grad_w, dk_tensor* grad_bias) {
    return guard_ctx("dk_conv2d_backward_weight", ctx, [&] {
        const Params p = check_params(params, false, false);
        Checked xc, gw;
        ConvArgs a{};
        a.g = image_and_filters(ctx, p, "x", x, "grad_w", grad_w, xc, gw);
        Checked gy = output_gradient(ctx, p, grad_out, a.g, xc, "the convolution's output");
        check_disjoint(gw, xc);
        check_disjoint(gw, gy);
        a.x = xc.data;
        a.grad_y = gy.data;
        a.dw = gw.data;
        if (grad_bias) {
            Checked gb;
            check_vector(ctx, grad_bias, "grad_bias", a.g.k, xc, gb);
            check_disjoint(gb, xc);
            check_disjoint(gb, gy);
            check_disjoint(gb, gw);
            a.db = gb.data;
        }
        // the kernels' split reduction sums its pieces through f32 scratch; the cpu backend needs none
        const int64_t splits = ctx->device.device_type == DK_DEVICE_CPU ? 1 : conv_weight_grad_splits(ctx->exec, a.g);
        const Workspace partials(ctx, splits > 1 ? size_t(splits * gw.numel) * sizeof(float) : 0);
        a.workspace = partials.floats();
        DK_BACKEND_CALL(ctx, conv2d_backward_weight, xc.dtype, a);
    });
}

DK_API dk_status dk_conv_transpose2d_forward(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                             const dk_tensor* w, const dk_tensor* bias, dk_tensor* out) {
    return guard_ctx("dk_conv_transpose2d_forward", ctx, [&] {
        const Params p = check_params(params, true, true);
        const char* img = p.nhwc ? "[N, H, W, C]" : "[N, C, H, W]";
        Checked xc = floating4(ctx, "x", x, img);
        Checked wc = floating4(ctx, "w", w, p.nhwc ? "[Cin, R, S, Cout/groups]" : "[Cin, Cout/groups, R, S]");
        check_same_dtype(wc, xc);
        int64_t n, cin, h, wd, k, cg, r, s;
        nchw_of(xc, p.nhwc, n, cin, h, wd);
        weight_dims(wc, p.nhwc, k, cg, r, s);
        if (k != cin)
            bad("w", "channel mismatch: its first dim must be the " + str(cin) + " channels of 'x', got shape " +
                         shape_string(wc.shape));
        if (cin % p.groups != 0)
            bad("params", "groups (" + str(p.groups) + ") must divide the " + str(cin) + " channels of 'x'");
        if (r < 1 || s < 1) bad("w", "kernel must be at least 1 x 1, got shape " + shape_string(wc.shape));
        const int64_t ho = (h - 1) * p.sh - p.pt - p.pb + p.dh * (r - 1) + p.oph + 1;
        const int64_t wo = (wd - 1) * p.sw - p.pl - p.pr + p.dw * (s - 1) + p.opw + 1;
        if (ho < 1 || wo < 1)
            bad("params", "padding leaves an empty output: " + str(ho) + " x " + str(wo));
        const int64_t cout = cg * p.groups;
        Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, image_shape(p.nhwc, n, cout, ho, wo), "the transposed convolution's output");
        check_disjoint(oc, xc);
        check_disjoint(oc, wc);
        // The conv whose data gradient this is: input out [n, cout, ho, wo], weight w [cin, cout/g, r, s],
        // output x [n, cin, h, w]. Its bottom/right pads make its output h x w exactly.
        ConvArgs a{};
        a.g = ConvGeom{n, cout, ho, wo, cin, r, s, h, wd, p.sh, p.sw, p.pt, p.pl, p.dh, p.dw, p.groups, p.nhwc ? 1 : 0};
        a.act = p.act;
        a.grad_y = xc.data;
        a.w = wc.data;
        a.dx = oc.data;
        if (bias) {
            Checked bc;
            check_vector(ctx, bias, "bias", cout, xc, bc);
            check_disjoint(oc, bc);
            a.bias = bc.data;
        }
        DK_BACKEND_CALL(ctx, conv2d_backward_data, xc.dtype, a);
    });
}

}  // extern "C"
