// activation.cpp - the C API of activations and gated linear units: validate, shape the
// tensors into the [rows, cols] views the backends walk, run.
#include <cmath>

#include "api.h"
#include "activation/activations.cuh"
#include "validate.h"
#include "activation/activation.h"
#include "tensor/tensor.h"

using namespace dk;

namespace {

ActParams check_gate(const dk_activation* act) {
    ActParams p = check_activation(act);
    if (!is_gate_activation(p.kind))
        fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument 'act': ") + activation_name(p.kind) +
                                            " is not a gate; gated units take sigmoid (glu), silu (swiglu), "
                                            "gelu or gelu_tanh (geglu), relu (reglu)");
    return p;
}

int64_t last_dim(const Checked& t) { return t.shape.empty() ? 1 : t.shape.back(); }

// bias must be [C], C the last dim of x, with x's dtype.
Checked check_bias(const dk_context* ctx, const dk_tensor* bias, const Checked& x) {
    Checked b = check_input(ctx, "bias", bias);
    check_same_dtype(b, x);
    if (x.shape.empty())
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'bias': needs 'x' with at least one dimension, got a scalar");
    check_shape(b, {last_dim(x)}, "the last dim of 'x'");
    return b;
}

// With a bias the walk needs the column; without one the tensor is walked flat.
void set_rows_cols(ActArgs& a, const Checked& x, bool has_bias) {
    a.cols = has_bias ? last_dim(x) : x.numel;
    a.rows = a.cols == 0 ? 0 : x.numel / a.cols;
}

// The split form's x [..., 2H] and the [..., H] tensor that goes with it.
Shape check_split(const Checked& x) {
    if (x.shape.empty() || x.shape.back() % 2 != 0)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'x': expected an even last dim (2H = [up | gate]), got shape " +
                                            shape_string(x.shape));
    Shape half = x.shape;
    half.back() /= 2;
    return half;
}

void check_half_shape(const Checked& t, const Shape& half, const Checked& x) {
    check_same_dtype(t, x);
    check_shape(t, half, "'x' with its last dim halved");
}

}  // namespace

namespace dk {

ActParams check_activation(const dk_activation* act, const char* name) {
    if (!act) fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected an activation, got NULL");
    if (activation_name(act->kind)[0] == '?')
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "unknown activation kind " + std::to_string(act->kind) +
                                            " (expected 1.." + std::to_string(DK_ACT_END - 1) + ")");
    // the message is only made on failure: validation allocates nothing on the way through
    const auto bad = [&](const std::string& why) {
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + activation_name(act->kind) + ": " + why);
    };
    if (std::isnan(act->alpha) || std::isnan(act->beta)) bad("parameters must not be NaN");
    if (act->kind == DK_ACT_CELU && act->alpha == 0.0f) bad("alpha must not be 0");
    if (act->kind == DK_ACT_SOFTPLUS && act->alpha == 0.0f) bad("beta (alpha field) must not be 0");
    if (act->kind == DK_ACT_HARDTANH && act->alpha > act->beta)
        bad("min_val (" + std::to_string(act->alpha) + ") must not exceed max_val (" + std::to_string(act->beta) + ")");
    return ActParams{act->kind, act->alpha, act->beta};
}

}  // namespace dk

extern "C" {

DK_API dk_status dk_activation_forward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                       const dk_tensor* bias, dk_tensor* out) {
    return guard_ctx("dk_activation_forward", ctx, [&] {
        const ActParams p = check_activation(act);
        Checked xc = check_input(ctx, "x", x);
        check_floating(xc);
        Checked oc = check_like(ctx, "out", out, xc);
        check_no_partial_overlap(oc, xc);
        ActArgs a{xc.data, nullptr, nullptr, oc.data, nullptr, nullptr, 0, 0};
        if (bias) {
            Checked bc = check_bias(ctx, bias, xc);
            check_no_partial_overlap(oc, bc);
            a.bias = bc.data;
        }
        set_rows_cols(a, xc, bias != nullptr);
        DK_BACKEND_CALL(ctx, activation_forward, xc.dtype, p, a);
    });
}

DK_API dk_status dk_activation_backward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                        const dk_tensor* bias, const dk_tensor* grad_out, dk_tensor* grad_in,
                                        dk_tensor* grad_bias) {
    return guard_ctx("dk_activation_backward", ctx, [&] {
        const ActParams p = check_activation(act);
        Checked xc = check_input(ctx, "x", x);
        check_floating(xc);
        Checked go = check_input_like(ctx, "grad_out", grad_out, xc);
        Checked gi = check_like(ctx, "grad_in", grad_in, xc);
        check_no_partial_overlap(gi, xc);
        check_no_partial_overlap(gi, go);
        ActArgs a{xc.data, nullptr, go.data, gi.data, nullptr, nullptr, 0, 0};
        if (grad_bias && !bias)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'grad_bias': given without 'bias'");
        if (bias) a.bias = check_bias(ctx, bias, xc).data;
        set_rows_cols(a, xc, bias != nullptr);
        if (!grad_bias) {
            DK_BACKEND_CALL(ctx, activation_backward, xc.dtype, p, a);
            return;
        }
        Checked gb = check_tensor(ctx, "grad_bias", grad_bias);
        check_same_dtype(gb, xc);
        check_shape(gb, {a.cols}, "the last dim of 'x'");
        check_no_partial_overlap(gb, gi);
        a.grad_bias = gb.data;
        if (a.rows == 0) {
            DK_BACKEND_CALL(ctx, fill, gb.dtype, gb.data, gb.numel, 0.0);  // a sum over no rows
            return;
        }
        const Workspace partials(ctx, size_t(bias_partial_rows(ctx->exec, a.rows) * a.cols) * sizeof(float));
        a.workspace = partials.floats();
        DK_BACKEND_CALL(ctx, activation_backward, xc.dtype, p, a);
    });
}

DK_API dk_status dk_gated_forward(dk_context* ctx, const dk_activation* act, const dk_tensor* gate,
                                  const dk_tensor* up, dk_tensor* out) {
    return guard_ctx("dk_gated_forward", ctx, [&] {
        const ActParams p = check_gate(act);
        Checked g = check_input(ctx, "gate", gate);
        check_floating(g);
        Checked u = check_input_like(ctx, "up", up, g);
        Checked o = check_like(ctx, "out", out, g);
        check_no_partial_overlap(o, g);
        check_no_partial_overlap(o, u);
        GatedArgs a{g.data, u.data, nullptr, o.data, nullptr, nullptr, 1, g.numel, g.numel};
        DK_BACKEND_CALL(ctx, gated_forward, g.dtype, p, a);
    });
}

DK_API dk_status dk_gated_backward(dk_context* ctx, const dk_activation* act, const dk_tensor* gate,
                                   const dk_tensor* up, const dk_tensor* grad_out, dk_tensor* grad_gate,
                                   dk_tensor* grad_up) {
    return guard_ctx("dk_gated_backward", ctx, [&] {
        const ActParams p = check_gate(act);
        Checked g = check_input(ctx, "gate", gate);
        check_floating(g);
        Checked u = check_input_like(ctx, "up", up, g);
        Checked go = check_input_like(ctx, "grad_out", grad_out, g);
        Checked gg = check_like(ctx, "grad_gate", grad_gate, g);
        Checked gu = check_like(ctx, "grad_up", grad_up, g);
        for (const Checked* in : {&g, &u, &go}) {
            check_no_partial_overlap(gg, *in);
            check_no_partial_overlap(gu, *in);
        }
        if (gg.numel && gg.data == gu.data)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'grad_up': is the same memory as 'grad_gate'");
        check_no_partial_overlap(gu, gg);
        GatedArgs a{g.data, u.data, go.data, nullptr, gg.data, gu.data, 1, g.numel, g.numel};
        DK_BACKEND_CALL(ctx, gated_backward, g.dtype, p, a);
    });
}

DK_API dk_status dk_gated_split_output_shape(dk_context* ctx, const dk_tensor* x, int64_t* out_shape,
                                             int32_t* out_ndim) {
    return guard_ctx("dk_gated_split_output_shape", ctx, [&] {
        Checked xc = check_meta(ctx, "x", x);
        check_floating(xc);
        write_shape(check_split(xc), out_shape, out_ndim);
    });
}

DK_API dk_status dk_gated_split_forward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                        dk_tensor* out) {
    return guard_ctx("dk_gated_split_forward", ctx, [&] {
        const ActParams p = check_gate(act);
        Checked xc = check_input(ctx, "x", x);
        check_floating(xc);
        const Shape half = check_split(xc);
        Checked o = check_tensor(ctx, "out", out);
        check_half_shape(o, half, xc);
        check_disjoint(o, xc);
        const int64_t h = half.back();
        GatedArgs a{static_cast<char*>(xc.data) + h * dtype_size(xc.dtype), xc.data, nullptr, o.data,
                    nullptr, nullptr, h == 0 ? 0 : o.numel / h, h, 2 * h};
        DK_BACKEND_CALL(ctx, gated_forward, xc.dtype, p, a);
    });
}

DK_API dk_status dk_gated_split_backward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                         const dk_tensor* grad_out, dk_tensor* grad_x) {
    return guard_ctx("dk_gated_split_backward", ctx, [&] {
        const ActParams p = check_gate(act);
        Checked xc = check_input(ctx, "x", x);
        check_floating(xc);
        const Shape half = check_split(xc);
        Checked go = check_input(ctx, "grad_out", grad_out);
        check_half_shape(go, half, xc);
        Checked gx = check_like(ctx, "grad_x", grad_x, xc);
        check_no_partial_overlap(gx, xc);
        check_no_partial_overlap(gx, go);
        const int64_t h = half.back();
        const int64_t row_bytes = h * dtype_size(xc.dtype);
        GatedArgs a{static_cast<char*>(xc.data) + row_bytes, xc.data, go.data, nullptr,
                    static_cast<char*>(gx.data) + row_bytes, gx.data, h == 0 ? 0 : go.numel / h, h, 2 * h};
        DK_BACKEND_CALL(ctx, gated_backward, xc.dtype, p, a);
    });
}

}  // extern "C"
