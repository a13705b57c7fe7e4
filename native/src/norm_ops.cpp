// norm_ops.cpp - the C API of softmax / log_softmax, layer_norm, rms_norm and the rotary
// embedding: validate, view the tensors as [rows, last dim], run.
#include <cmath>

#include "api.h"
#include "validate.h"

using namespace dk;

namespace {

// x must have at least one dimension: the last one is normalized over.
Checked check_rows_input(const dk_context* ctx, const char* name, const dk_tensor* t) {
    Checked c = check_tensor(ctx, name, t);
    check_floating(c);
    if (c.shape.empty())
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected at least one dimension (the last is reduced over), got a scalar");
    return c;
}

void rows_cols(const Checked& x, int64_t& rows, int64_t& cols) {
    cols = x.shape.back();
    rows = cols == 0 ? 0 : x.numel / cols;
}

// A [C] parameter (weight, bias or their gradients) of x's dtype, C the last dim of x.
Checked check_param(const dk_context* ctx, const char* name, const dk_tensor* t, const Checked& x) {
    Checked c = check_tensor(ctx, name, t);
    check_same_dtype(c, x);
    check_shape(c, {x.shape.back()}, std::string("the last dim of '") + x.name + "'");
    return c;
}

void check_eps(float eps) {
    if (!(eps > 0) || !std::isfinite(eps))
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'eps': expected a finite value > 0, got " + std::to_string(eps));
}

void norm_forward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, const dk_tensor* bias, float eps,
                  dk_tensor* out, bool rms) {
    check_eps(eps);
    Checked xc = check_rows_input(ctx, "x", x);
    Checked oc = check_like(ctx, "out", out, xc);
    check_no_partial_overlap(oc, xc);
    NormArgs a{xc.data, nullptr, nullptr, nullptr, oc.data, nullptr, nullptr, nullptr, 0, 0, eps, rms};
    rows_cols(xc, a.rows, a.cols);
    if (weight) {
        Checked w = check_param(ctx, "weight", weight, xc);
        check_disjoint(oc, w);
        a.weight = w.data;
    }
    if (bias) {
        Checked b = check_param(ctx, "bias", bias, xc);
        check_disjoint(oc, b);
        a.bias = b.data;
    }
    DK_BACKEND_CALL(ctx, norm_forward, xc.dtype, a);
}

void norm_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, const dk_tensor* grad_out,
                   float eps, dk_tensor* grad_x, dk_tensor* grad_weight, dk_tensor* grad_bias, bool rms) {
    check_eps(eps);
    Checked xc = check_rows_input(ctx, "x", x);
    Checked go = check_like(ctx, "grad_out", grad_out, xc);
    Checked gx = check_like(ctx, "grad_x", grad_x, xc);
    check_disjoint(gx, xc);
    check_disjoint(gx, go);
    NormArgs a{xc.data, nullptr, nullptr, go.data, gx.data, nullptr, nullptr, nullptr, 0, 0, eps, rms};
    rows_cols(xc, a.rows, a.cols);
    std::vector<Checked> params;
    if (weight) {
        Checked w = check_param(ctx, "weight", weight, xc);
        check_disjoint(gx, w);
        a.weight = w.data;
        params.push_back(w);
    }
    if (grad_weight && !weight) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'grad_weight': given without 'weight'");
    std::vector<Checked> grads;
    for (auto [name, t] : {std::pair<const char*, dk_tensor*>{"grad_weight", grad_weight}, {"grad_bias", grad_bias}}) {
        if (!t) continue;
        Checked g = check_param(ctx, name, t, xc);
        for (const Checked& other : {xc, go, gx}) check_disjoint(g, other);
        for (const Checked& other : params) check_disjoint(g, other);
        for (const Checked& other : grads) check_disjoint(g, other);
        grads.push_back(g);
        (t == grad_weight ? a.grad_weight : a.grad_bias) = g.data;
    }
    if (grads.empty()) {
        DK_BACKEND_CALL(ctx, norm_backward, xc.dtype, a);
        return;
    }
    if (a.rows == 0) {  // sums over no rows
        for (const Checked& g : grads) DK_BACKEND_CALL(ctx, fill, g.dtype, g.data, g.numel, 0.0);
        return;
    }
    const Workspace stats(ctx, size_t(norm_workspace_floats(ctx->exec, a.rows, a.cols)) * sizeof(float));
    a.workspace = stats.floats();
    DK_BACKEND_CALL(ctx, norm_backward, xc.dtype, a);
}

void rope(dk_context* ctx, const char* in_name, const dk_tensor* x, int32_t layout, float base, int64_t offset,
          const char* out_name, dk_tensor* out, float sign) {
    if (layout != DK_ROPE_HALF_SPLIT && layout != DK_ROPE_INTERLEAVED)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'layout': expected DK_ROPE_HALF_SPLIT (0) or DK_ROPE_INTERLEAVED (1), got " +
                                            std::to_string(layout));
    if (!(base > 0) || !std::isfinite(base))
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'base': expected a finite value > 0, got " + std::to_string(base));
    if (offset < 0)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'position_offset': expected >= 0, got " + std::to_string(offset));
    Checked xc = check_tensor(ctx, in_name, x);
    check_floating(xc);
    if (xc.shape.size() != 4)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(in_name) + "expected 4 dimensions [B, H, L, D], got " + shape_string(xc.shape));
    if (xc.shape[3] % 2 != 0)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(in_name) + "expected an even head dim D, got shape " + shape_string(xc.shape));
    if (offset > (int64_t(1) << 40) - xc.shape[2])
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'position_offset': " + std::to_string(offset) + " + L overflows 2^40");
    Checked oc = check_tensor(ctx, out_name, out);
    check_same_dtype(oc, xc);
    check_same_shape(oc, xc);
    check_no_partial_overlap(oc, xc);
    RopeArgs a{xc.data, oc.data, xc.shape[0] * xc.shape[1], xc.shape[2], xc.shape[3], offset, base, sign,
               layout == DK_ROPE_INTERLEAVED};
    DK_BACKEND_CALL(ctx, rope, xc.dtype, a);
}

}  // namespace

extern "C" {

DK_API dk_status dk_softmax_forward(dk_context* ctx, const dk_tensor* x, int32_t log, dk_tensor* out) {
    return guard_ctx("dk_softmax_forward", ctx, [&] {
        Checked xc = check_rows_input(ctx, "x", x);
        Checked oc = check_like(ctx, "out", out, xc);
        check_no_partial_overlap(oc, xc);
        SoftmaxArgs a{xc.data, nullptr, oc.data, 0, 0, log != 0};
        rows_cols(xc, a.rows, a.cols);
        DK_BACKEND_CALL(ctx, softmax_forward, xc.dtype, a);
    });
}

DK_API dk_status dk_softmax_backward(dk_context* ctx, const dk_tensor* y, const dk_tensor* grad_out, int32_t log,
                                     dk_tensor* grad_x) {
    return guard_ctx("dk_softmax_backward", ctx, [&] {
        Checked yc = check_rows_input(ctx, "y", y);
        Checked go = check_like(ctx, "grad_out", grad_out, yc);
        Checked gx = check_like(ctx, "grad_x", grad_x, yc);
        check_no_partial_overlap(gx, go);
        check_disjoint(gx, yc);
        SoftmaxArgs a{yc.data, go.data, gx.data, 0, 0, log != 0};
        rows_cols(yc, a.rows, a.cols);
        DK_BACKEND_CALL(ctx, softmax_backward, yc.dtype, a);
    });
}

DK_API dk_status dk_layer_norm_forward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                       const dk_tensor* bias, float eps, dk_tensor* out) {
    return guard_ctx("dk_layer_norm_forward", ctx, [&] { norm_forward(ctx, x, weight, bias, eps, out, false); });
}

DK_API dk_status dk_layer_norm_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                        const dk_tensor* grad_out, float eps, dk_tensor* grad_x,
                                        dk_tensor* grad_weight, dk_tensor* grad_bias) {
    return guard_ctx("dk_layer_norm_backward", ctx,
                     [&] { norm_backward(ctx, x, weight, grad_out, eps, grad_x, grad_weight, grad_bias, false); });
}

DK_API dk_status dk_rms_norm_forward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, float eps,
                                     dk_tensor* out) {
    return guard_ctx("dk_rms_norm_forward", ctx, [&] { norm_forward(ctx, x, weight, nullptr, eps, out, true); });
}

DK_API dk_status dk_rms_norm_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                      const dk_tensor* grad_out, float eps, dk_tensor* grad_x,
                                      dk_tensor* grad_weight) {
    return guard_ctx("dk_rms_norm_backward", ctx,
                     [&] { norm_backward(ctx, x, weight, grad_out, eps, grad_x, grad_weight, nullptr, true); });
}

DK_API dk_status dk_rope_forward(dk_context* ctx, const dk_tensor* x, int32_t layout, float base,
                                 int64_t position_offset, dk_tensor* out) {
    return guard_ctx("dk_rope_forward", ctx, [&] { rope(ctx, "x", x, layout, base, position_offset, "out", out, 1.0f); });
}

DK_API dk_status dk_rope_backward(dk_context* ctx, const dk_tensor* grad_out, int32_t layout, float base,
                                  int64_t position_offset, dk_tensor* grad_x) {
    return guard_ctx("dk_rope_backward", ctx,
                     [&] { rope(ctx, "grad_out", grad_out, layout, base, position_offset, "grad_x", grad_x, -1.0f); });
}

}  // extern "C"
