// loss.cpp - the C API of the losses: validate the parameters, the input, target and gradient
// tensors against each other (and, on cpu and emu, the class indices of cross-entropy), then run
// the backend (kernels/loss/loss.cu, cpu/loss.cpp) with the workspace its reductions ask for.
#include <cmath>
#include <string>

#include "api.h"
#include "loss/loss.h"
#include "validate.h"

using namespace dk;

namespace {

[[noreturn]] void bad(const std::string& arg, const std::string& what) {
    fail(DK_ERROR_INVALID_ARGUMENT, "argument '" + arg + "': " + what);
}

std::string str(int64_t v) { return std::to_string(v); }

LossReduction check_reduction(int32_t r, const char* name) {
    if (r < DK_REDUCTION_NONE || r > DK_REDUCTION_SUM)
        bad(name, "expected a dk_reduction (DK_REDUCTION_NONE 0, DK_REDUCTION_MEAN 1, DK_REDUCTION_SUM 2), got " + str(r));
    return LossReduction(r);
}

void check_nonnegative(const char* name, float v) {
    if (!(v >= 0.0f) || !std::isfinite(v)) bad(name, "expected a finite value >= 0, got " + std::to_string(v));
}

// The loss's shape: the items' shape for none, 0-d otherwise.
Shape loss_shape(LossReduction r, const Shape& items) { return r == LossReduction::none ? items : Shape{}; }

// grad_out: input's dtype, the loss's shape.
Checked check_grad_out(dk_context* ctx, const dk_tensor* g, const Checked& like, const Shape& shape) {
    Checked gc = check_input(ctx, "grad_out", g);
    check_same_dtype(gc, like);
    if (shape.empty()) {  // 0-d as torch's autograd passes it, or any one-element shape ([1], [1, 1])
        bool ones = true;
        for (int64_t e : gc.shape) ones = ones && e == 1;
        if (!ones)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("grad_out") + "expected a 0-d tensor (the loss is reduced), got shape " +
                                                shape_string(gc.shape));
    } else {
        check_shape(gc, shape, "the unreduced loss's shape");
    }
    return gc;
}

// An output the op writes, sharing no byte with what it reads.
Checked check_written(dk_context* ctx, const char* name, const dk_tensor* t, DType dtype, const Shape& shape,
                      std::initializer_list<const Checked*> inputs, const char* why) {
    Checked oc = check_tensor(ctx, name, t);
    check_dtype(oc, dtype);
    check_shape(oc, shape, why);
    for (const Checked* in : inputs)
        if (in) check_disjoint(oc, *in);
    return oc;
}

struct Elementwise {
    LossArgs a{};
    Checked x, t, pw;
    bool has_pw = false;
};

Elementwise check_elementwise(dk_context* ctx, int32_t kind, int32_t reduction, float beta, const dk_tensor* input,
                              const dk_tensor* target, const dk_tensor* pos_weight) {
    Elementwise e;
    if (kind < DK_LOSS_MSE || kind > DK_LOSS_BCE_WITH_LOGITS)
        bad("kind", "expected a dk_loss_kind (" + str(DK_LOSS_MSE) + ".." + str(DK_LOSS_BCE_WITH_LOGITS) + "), got " + str(kind));
    e.a.kind = LossKind(kind);
    e.a.reduction = check_reduction(reduction, "reduction");
    if (e.a.kind == LossKind::smooth_l1) check_nonnegative("beta", beta);
    e.a.beta = e.a.kind == LossKind::smooth_l1 ? beta : 0.0f;
    e.x = check_input(ctx, "input", input);
    check_floating(e.x);
    e.t = check_input_like(ctx, "target", target, e.x);
    if (pos_weight) {
        if (e.a.kind != LossKind::bce_with_logits)
            bad("pos_weight", "only binary cross-entropy with logits takes a pos_weight, expected NULL");
        e.pw = check_input(ctx, "pos_weight", pos_weight);
        check_same_dtype(e.pw, e.x);
        const int64_t last = e.x.shape.empty() ? 1 : e.x.shape.back();
        if (e.pw.shape.size() != 1 || (e.pw.shape[0] != 1 && e.pw.shape[0] != last))
            bad("pos_weight", "expected a 1-D tensor of 1 or " + str(last) + " (the last extent of 'input') elements, got " +
                                  shape_string(e.pw.shape));
        if (e.pw.shape[0] == 0 && e.x.numel > 0) bad("pos_weight", "expected at least one element");
        e.has_pw = true;
        e.a.pos_weight = e.pw.data;
        e.a.pos_weight_len = e.pw.shape[0] > 0 ? e.pw.shape[0] : 1;
    }
    e.a.input = e.x.data;
    e.a.target = e.t.data;
    e.a.n = e.x.numel;
    return e;
}

struct CrossEntropy {
    LossArgs a{};
    Checked x, t;
};

CrossEntropy check_cross_entropy(dk_context* ctx, const dk_cross_entropy_params* p, const dk_tensor* logits,
                                 const dk_tensor* target) {
    if (!p) bad("params", "expected cross-entropy parameters, got NULL");
    CrossEntropy e;
    e.a.kind = LossKind::cross_entropy;
    e.a.reduction = check_reduction(p->reduction, "params.reduction");
    if (!(p->label_smoothing >= 0.0f && p->label_smoothing <= 1.0f))
        bad("params.label_smoothing", "expected a value in [0, 1], got " + std::to_string(p->label_smoothing));
    e.a.smoothing = p->label_smoothing;
    e.a.ignore_index = p->ignore_index;
    e.x = check_input(ctx, "logits", logits);
    check_floating(e.x);
    const Shape& xs = e.x.shape;
    if (xs.empty()) bad("logits", "expected [C], [N, C] or [N, C, d1, ...], got a 0-d tensor");
    e.t = check_input(ctx, "target", target);
    if (e.t.dtype != DType::i32 && e.t.dtype != DType::i64)
        bad("target", std::string("expected class indices of dtype i32 or i64, got ") + dtype_name(e.t.dtype));
    Shape ts;
    for (size_t d = 0; d < xs.size(); ++d)
        if (d != (xs.size() == 1 ? 0 : 1)) ts.push_back(xs[d]);
    check_shape(e.t, ts, "the shape of 'logits' without its class dim");
    const int64_t classes = xs.size() == 1 ? xs[0] : xs[1];
    if (classes < 1) bad("logits", "expected at least one class, got shape " + shape_string(xs));
    int64_t inner = 1;
    for (size_t d = 2; d < xs.size(); ++d) inner *= xs[d];
    e.a.input = e.x.data;
    e.a.target = e.t.data;
    e.a.target_i64 = e.t.dtype == DType::i64;
    e.a.n = e.t.numel;
    e.a.classes = classes;
    e.a.inner = inner > 0 ? inner : 1;
    if (ctx->device.device_type != DK_DEVICE_CUDA) {  // host memory: check the class indices now
        for (int64_t r = 0; r < e.a.n; ++r) {
            const int64_t y = e.a.target_i64 ? static_cast<const int64_t*>(e.t.data)[r]
                                             : int64_t(static_cast<const int32_t*>(e.t.data)[r]);
            if (y != e.a.ignore_index && (y < 0 || y >= classes))
                bad("target", "class index " + str(y) + " at element " + str(r) + " is outside [0, " + str(classes) +
                                  ") and is not the ignore_index " + str(e.a.ignore_index));
        }
    }
    return e;
}

struct Focal {
    LossArgs a{};
    Checked x, t;
};

Focal check_focal(dk_context* ctx, float alpha, float beta, const dk_tensor* logits, const dk_tensor* heatmap) {
    check_nonnegative("alpha", alpha);
    check_nonnegative("beta", beta);
    Focal f;
    f.a.kind = LossKind::centernet_focal;
    f.a.reduction = LossReduction::per_positive;
    f.a.alpha = alpha;
    f.a.beta = beta;
    f.x = check_input(ctx, "logits", logits);
    check_floating(f.x);
    f.t = check_input_like(ctx, "heatmap", heatmap, f.x);
    f.a.input = f.x.data;
    f.a.target = f.t.data;
    f.a.n = f.x.numel;
    return f;
}

}  // namespace

extern "C" {

DK_API dk_status dk_loss_forward(dk_context* ctx, int32_t kind, int32_t reduction, float beta, const dk_tensor* input,
                                 const dk_tensor* target, const dk_tensor* pos_weight, dk_tensor* out) {
    return guard_ctx("dk_loss_forward", ctx, [&] {
        Elementwise e = check_elementwise(ctx, kind, reduction, beta, input, target, pos_weight);
        const Checked oc = check_written(ctx, "out", out, e.x.dtype, loss_shape(e.a.reduction, e.x.shape),
                                         {&e.x, &e.t, e.has_pw ? &e.pw : nullptr},
                                         e.a.reduction == LossReduction::none ? "the shape of 'input'" : "0-d: the loss is reduced");
        e.a.out = oc.data;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, loss_forward, e.x.dtype, e.a, workspace);
    });
}

DK_API dk_status dk_loss_backward(dk_context* ctx, int32_t kind, int32_t reduction, float beta,
                                  const dk_tensor* input, const dk_tensor* target, const dk_tensor* pos_weight,
                                  const dk_tensor* grad_out, dk_tensor* grad_input) {
    return guard_ctx("dk_loss_backward", ctx, [&] {
        Elementwise e = check_elementwise(ctx, kind, reduction, beta, input, target, pos_weight);
        const Checked gc = check_grad_out(ctx, grad_out, e.x, loss_shape(e.a.reduction, e.x.shape));
        const Checked oc = check_written(ctx, "grad_input", grad_input, e.x.dtype, e.x.shape,
                                         {&e.x, &e.t, e.has_pw ? &e.pw : nullptr, &gc}, "the shape of 'input'");
        e.a.grad_out = gc.data;
        e.a.out = oc.data;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, loss_backward, e.x.dtype, e.a, workspace);
    });
}

DK_API dk_status dk_cross_entropy_forward(dk_context* ctx, const dk_cross_entropy_params* params,
                                          const dk_tensor* logits, const dk_tensor* target, dk_tensor* out) {
    return guard_ctx("dk_cross_entropy_forward", ctx, [&] {
        CrossEntropy e = check_cross_entropy(ctx, params, logits, target);
        const Checked oc = check_written(ctx, "out", out, e.x.dtype, loss_shape(e.a.reduction, e.t.shape), {&e.x, &e.t},
                                         e.a.reduction == LossReduction::none ? "the shape of 'target'" : "0-d: the loss is reduced");
        e.a.out = oc.data;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, loss_forward, e.x.dtype, e.a, workspace);
    });
}

DK_API dk_status dk_cross_entropy_backward(dk_context* ctx, const dk_cross_entropy_params* params,
                                           const dk_tensor* logits, const dk_tensor* target,
                                           const dk_tensor* grad_out, dk_tensor* grad_logits) {
    return guard_ctx("dk_cross_entropy_backward", ctx, [&] {
        CrossEntropy e = check_cross_entropy(ctx, params, logits, target);
        const Checked gc = check_grad_out(ctx, grad_out, e.x, loss_shape(e.a.reduction, e.t.shape));
        const Checked oc = check_written(ctx, "grad_logits", grad_logits, e.x.dtype, e.x.shape, {&e.x, &e.t, &gc},
                                         "the shape of 'logits'");
        e.a.grad_out = gc.data;
        e.a.out = oc.data;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, loss_backward, e.x.dtype, e.a, workspace);
    });
}

DK_API dk_status dk_centernet_focal_loss_forward(dk_context* ctx, float alpha, float beta, const dk_tensor* logits,
                                                 const dk_tensor* heatmap, dk_tensor* out) {
    return guard_ctx("dk_centernet_focal_loss_forward", ctx, [&] {
        Focal f = check_focal(ctx, alpha, beta, logits, heatmap);
        const Checked oc = check_written(ctx, "out", out, f.x.dtype, Shape{}, {&f.x, &f.t}, "0-d: the loss is reduced");
        f.a.out = oc.data;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, loss_forward, f.x.dtype, f.a, workspace);
    });
}

DK_API dk_status dk_centernet_focal_loss_backward(dk_context* ctx, float alpha, float beta, const dk_tensor* logits,
                                                  const dk_tensor* heatmap, const dk_tensor* grad_out,
                                                  dk_tensor* grad_logits) {
    return guard_ctx("dk_centernet_focal_loss_backward", ctx, [&] {
        Focal f = check_focal(ctx, alpha, beta, logits, heatmap);
        const Checked gc = check_grad_out(ctx, grad_out, f.x, Shape{});
        const Checked oc = check_written(ctx, "grad_logits", grad_logits, f.x.dtype, f.x.shape, {&f.x, &f.t, &gc},
                                         "the shape of 'logits'");
        f.a.grad_out = gc.data;
        f.a.out = oc.data;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, loss_backward, f.x.dtype, f.a, workspace);
    });
}

}  // extern "C"
