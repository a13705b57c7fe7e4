// norm.cpp - the C API of softmax / log_softmax, layer_norm and rms_norm: validate, view the
// tensors as [rows, last dim], run.
#include <cmath>

#include "api.h"
#include "validate.h"
#include "norm/norm.h"
#include "tensor/tensor.h"

using namespace dk;

namespace {

// x must have at least one dimension: the last one is normalized over.
Checked check_rows_input(const dk_context* ctx, const char* name, const dk_tensor* t) {
    Checked c = check_input(ctx, name, t);
    check_floating(c);
    if (c.shape.empty())
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected at least one dimension (the last is reduced over), got a scalar");
    return c;
}

void rows_cols(const Checked& x, int64_t& rows, int64_t& cols) {
    cols = x.shape.back();
    rows = cols == 0 ? 0 : x.numel / cols;
}

// The [C] parameters of a call (weight, bias and their gradients), C the last dim of x: all of x's
// dtype, or all f32 (torch's mixed-dtype norm: x f16 / bf16 with f32 parameters), as the first says.
struct ParamChecker {
    const Checked& x;
    NormArgs& a;
    const char* first = nullptr;

    Checked operator()(const dk_context* ctx, const char* name, const dk_tensor* t) {
        Checked c = check_input(ctx, name, t);
        if (!first) {
            if (c.dtype != x.dtype && c.dtype != DType::f32)
                fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected dtype " + dtype_name(x.dtype) +
                                                    " (the dtype of 'x') or f32, got " + dtype_name(c.dtype));
            a.params_f32 = c.dtype != x.dtype;
            first = name;
        } else if (c.dtype != (a.params_f32 ? DType::f32 : x.dtype)) {
            fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected dtype " +
                                                dtype_name(a.params_f32 ? DType::f32 : x.dtype) + " (the dtype of '" +
                                                first + "'), got " + dtype_name(c.dtype));
        }
        check_shape(c, {x.shape.back()}, "the last dim of 'x'");
        return c;
    }
};

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
    NormArgs a{xc.data, nullptr, nullptr, nullptr, oc.data, nullptr, nullptr, nullptr, 0, 0, eps, rms, false};
    rows_cols(xc, a.rows, a.cols);
    ParamChecker check_param{xc, a};
    if (weight) {
        Checked w = check_param(ctx, "weight", weight);
        check_disjoint(oc, w);
        a.weight = w.data;
    }
    if (bias) {
        Checked b = check_param(ctx, "bias", bias);
        check_disjoint(oc, b);
        a.bias = b.data;
    }
    DK_BACKEND_CALL(ctx, norm_forward, xc.dtype, a);
}

void norm_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, const dk_tensor* grad_out,
                   float eps, dk_tensor* grad_x, dk_tensor* grad_weight, dk_tensor* grad_bias, bool rms) {
    check_eps(eps);
    Checked xc = check_rows_input(ctx, "x", x);
    Checked go = check_input_like(ctx, "grad_out", grad_out, xc);
    Checked gx = check_like(ctx, "grad_x", grad_x, xc);
    check_disjoint(gx, xc);
    check_disjoint(gx, go);
    NormArgs a{xc.data, nullptr, nullptr, go.data, gx.data, nullptr, nullptr, nullptr, 0, 0, eps, rms, false};
    rows_cols(xc, a.rows, a.cols);
    ParamChecker check_param{xc, a};
    CheckedList params;
    if (weight) {
        Checked w = check_param(ctx, "weight", weight);
        check_disjoint(gx, w);
        a.weight = w.data;
        params.push_back(w);
    }
    if (grad_weight && !weight) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'grad_weight': given without 'weight'");
    CheckedList grads;
    for (auto [name, t] : {std::pair<const char*, dk_tensor*>{"grad_weight", grad_weight}, {"grad_bias", grad_bias}}) {
        if (!t) continue;
        Checked g = check_param(ctx, name, t);
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
        Checked go = check_input_like(ctx, "grad_out", grad_out, yc);
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

}  // extern "C"
