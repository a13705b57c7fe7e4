// flow.cpp - the C API of the fused affine coupling (kernels/flow): validate, run.
#include "api.h"
#include "validate.h"
#include "flow/flow.h"

using namespace dk;

namespace {

// x: a floating tensor with a sample dim; the per-sample element count m.
int64_t per_sample(const Checked& x) {
    check_floating(x);
    if (x.shape.size() < 1)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(x.name) + "expected a tensor with a sample dim (dim 0), got a scalar");
    return x.shape[0] == 0 ? 0 : x.numel / x.shape[0];
}

// h: x's dtype, the same sample count, 2m elements per sample.
Checked check_h(dk_context* ctx, const dk_tensor* h, const Checked& x, int64_t m) {
    Checked hc = check_input(ctx, "h", h);
    check_same_dtype(hc, x);
    const int64_t hm = hc.shape.size() < 1 || hc.shape[0] == 0 ? 0 : hc.numel / hc.shape[0];
    if (hc.shape.size() < 1 || hc.shape[0] != x.shape[0] || (x.shape[0] != 0 && hm != 2 * m))
        fail(DK_ERROR_INVALID_ARGUMENT, arg("h") + "expected " + std::to_string(x.shape[0]) + " samples of " +
                                            std::to_string(2 * m) + " elements ([shift | raw scale] for the " +
                                            std::to_string(m) + " of '" + x.name + "'), got shape " +
                                            shape_string(hc.shape));
    return hc;
}

// logdet: f32 [N], an output (read too when accumulating).
Checked check_logdet(dk_context* ctx, const char* name, const dk_tensor* t, int64_t n) {
    Checked c = check_tensor(ctx, name, t);
    if (c.dtype != DType::f32 || c.shape != Shape{n})
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected f32 [" + std::to_string(n) + "], got " +
                                            dtype_name(c.dtype) + " " + shape_string(c.shape));
    return c;
}

dk_status coupling(const char* op, bool inverse, dk_context* ctx, const dk_tensor* in, const dk_tensor* h,
                   int32_t accumulate, dk_tensor* out, dk_tensor* logdet) {
    const char* in_name = inverse ? "y" : "x";
    const char* out_name = inverse ? "x" : "y";
    return guard_ctx(op, ctx, [&] {
        Checked ic = check_input(ctx, in_name, in);
        const int64_t m = per_sample(ic);
        Checked hc = check_h(ctx, h, ic, m);
        Checked oc = check_like(ctx, out_name, out, ic);
        check_no_partial_overlap(oc, ic);
        check_disjoint(oc, hc);
        CouplingArgs a{ic.data, hc.data, oc.data, nullptr, ic.shape[0], m, accumulate != 0, inverse};
        if (logdet) {
            Checked lc = check_logdet(ctx, "logdet", logdet, ic.shape[0]);
            for (const Checked* other : {&ic, &hc, &oc}) check_disjoint(lc, *other);
            a.logdet = static_cast<float*>(lc.data);
        }
        if (a.rows == 0 || (a.m == 0 && !a.logdet)) return;  // nothing to write, however many samples
        DK_BACKEND_CALL(ctx, flow_coupling, ic.dtype, a);
    });
}

}  // namespace

extern "C" {

DK_API dk_status dk_flow_coupling_forward(dk_context* ctx, const dk_tensor* x, const dk_tensor* h,
                                          int32_t accumulate, dk_tensor* y, dk_tensor* logdet) {
    return coupling("dk_flow_coupling_forward", false, ctx, x, h, accumulate, y, logdet);
}

DK_API dk_status dk_flow_coupling_inverse(dk_context* ctx, const dk_tensor* y, const dk_tensor* h,
                                          int32_t accumulate, dk_tensor* x, dk_tensor* logdet) {
    return coupling("dk_flow_coupling_inverse", true, ctx, y, h, accumulate, x, logdet);
}

DK_API dk_status dk_flow_coupling_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* h,
                                           const dk_tensor* grad_y, const dk_tensor* grad_logdet,
                                           dk_tensor* grad_x, dk_tensor* grad_h) {
    return guard_ctx("dk_flow_coupling_backward", ctx, [&] {
        Checked xc = check_input(ctx, "x", x);
        const int64_t m = per_sample(xc);
        Checked hc = check_h(ctx, h, xc, m);
        Checked gy = check_input_like(ctx, "grad_y", grad_y, xc);
        CouplingBackwardArgs a{xc.data, hc.data, gy.data, nullptr, nullptr, nullptr, xc.shape[0], m};
        CheckedList inputs{xc, hc, gy};
        if (grad_logdet) {
            Checked gl = check_input(ctx, "grad_logdet", grad_logdet);
            if (gl.dtype != DType::f32 || gl.shape != Shape{xc.shape[0]})
                fail(DK_ERROR_INVALID_ARGUMENT, arg("grad_logdet") + "expected f32 [" + std::to_string(xc.shape[0]) +
                                                    "], got " + dtype_name(gl.dtype) + " " + shape_string(gl.shape));
            a.grad_logdet = static_cast<const float*>(gl.data);
            inputs.push_back(gl);
        }
        Checked gx = check_like(ctx, "grad_x", grad_x, xc);
        Checked gh = check_like(ctx, "grad_h", grad_h, hc);
        for (const Checked& in : inputs) {
            check_disjoint(gx, in);
            check_disjoint(gh, in);
        }
        check_disjoint(gh, gx);
        a.grad_x = gx.data;
        a.grad_h = gh.data;
        if (xc.numel == 0) return;  // no element to write, however many samples
        DK_BACKEND_CALL(ctx, flow_coupling_backward, xc.dtype, a);
    });
}

}  // extern "C"
