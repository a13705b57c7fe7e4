// gemm.cpp - the C API of matmul and linear: validate shapes (inner dims, broadcast batch dims,
// the output's shape), describe the batch as strides, run the backend's gemm.
#include <algorithm>

#include "api.h"
#include "validate.h"
#include "gemm/gemm.h"

using namespace dk;

namespace {

using Check = Checked (*)(const dk_context*, const char*, const dk_tensor*);

Checked check_operand(Check check, const dk_context* ctx, const char* name, const dk_tensor* t) {
    Checked c = check(ctx, name, t);
    check_floating(c);
    if (c.shape.empty())
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected a vector [K] or a matrix [..., rows, cols], got a scalar");
    return c;
}

// a or b of a matmul as the gemm reads it: a view whose last two dims are those of a compact tensor
// transposed (torch's x.mT) is that tensor with its trans flag flipped, read without a copy; any
// other view is copied compact for the call.
Checked check_matrix(const dk_context* ctx, const char* name, const dk_tensor* t, int32_t& trans) {
    Checked c = check_operand(check_view, ctx, name, t);
    const size_t n = c.shape.size();
    if (c.contiguous) return c;
    if (n < 2) return scratch_copy(ctx, c);  // a strided vector
    Checked flipped = c;
    std::swap(flipped.shape[n - 1], flipped.shape[n - 2]);
    std::swap(flipped.strides[n - 1], flipped.strides[n - 2]);
    if (!row_major(flipped.shape, flipped.strides)) return scratch_copy(ctx, c);
    flipped.contiguous = true;
    trans = !trans;
    return flipped;
}

// A matmul's batch description and output shape from its checked operands.
struct MatmulPlan {
    GemmArgs g{};
    Shape out_shape;
};

MatmulPlan plan_matmul(const Checked& ac, const Checked& bc, int32_t trans_a, int32_t trans_b) {
    check_same_dtype(bc, ac);
    // torch.matmul's vectors: a [K] is the row [1, K], b [K] the column [K, 1] (the same memory
    // either way, so trans_* does not apply), and that 1 is dropped from the output's shape.
    const bool vec_a = ac.shape.size() == 1, vec_b = bc.shape.size() == 1;
    const Shape as = vec_a ? Shape{1, ac.shape[0]} : ac.shape;
    const Shape bs = vec_b ? Shape{bc.shape[0], 1} : bc.shape;
    if (vec_a) trans_a = 0;
    if (vec_b) trans_b = 0;
    const size_t ra = as.size(), rb = bs.size();
    const int64_t m = trans_a ? as[ra - 1] : as[ra - 2], ka = trans_a ? as[ra - 2] : as[ra - 1];
    const int64_t kb = trans_b ? bs[rb - 1] : bs[rb - 2], n = trans_b ? bs[rb - 2] : bs[rb - 1];
    if (ka != kb)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'b': inner dimensions differ: 'a' " + shape_string(ac.shape) +
                                            (trans_a ? " (transposed)" : "") + " has K = " + std::to_string(ka) +
                                            ", 'b' " + shape_string(bc.shape) + (trans_b ? " (transposed)" : "") +
                                            " has K = " + std::to_string(kb));
    const size_t batch_dims = std::max(ra, rb) - 2;
    MatmulPlan plan;
    GemmArgs& g = plan.g;
    g.batch_dims = int32_t(batch_dims);
    g.batch = 1;
    int64_t sa = m * ka, sb = ka * n;  // elements per batch of each operand, growing outward
    Shape astr, bstr, bshape;
    astr.resize(batch_dims);
    bstr.resize(batch_dims);
    bshape.resize(batch_dims);
    for (size_t i = 0; i < batch_dims; ++i) {  // i counts from the innermost batch dim
        const int64_t da = i + 2 < ra ? as[ra - 3 - i] : 1, db = i + 2 < rb ? bs[rb - 3 - i] : 1;
        if (da != db && da != 1 && db != 1)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'b': batch dims of 'a' " + shape_string(ac.shape) + " and 'b' " +
                                                shape_string(bc.shape) + " do not broadcast");
        const size_t d = batch_dims - 1 - i;
        bshape[d] = da == 1 ? db : da;
        astr[d] = da == 1 ? 0 : sa;
        bstr[d] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    for (size_t d = 0; d < batch_dims; ++d) {
        g.batch_shape[d] = bshape[d];
        g.a_stride[d] = astr[d];
        g.b_stride[d] = bstr[d];
        plan.out_shape.push_back(bshape[d]);
    }
    if (!vec_a) plan.out_shape.push_back(m);
    if (!vec_b) plan.out_shape.push_back(n);
    // broadcast batch dims can make an output far larger than either operand
    checked_numel("b", plan.out_shape, ac.dtype);
    g.batch = checked_numel("b", bshape, ac.dtype);
    if ((m + 63) / 64 > (int64_t(1) << 31) - 1 || (n + 63) / 64 > 65535)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("b") + "N = " + std::to_string(n) + " exceeds the kernel's 65535 * 64");
    g.m = m;
    g.n = n;
    g.k = ka;
    g.trans_a = trans_a != 0;
    g.trans_b = trans_b != 0;
    return plan;
}

// linear: x [..., in] times weight [out, in] transposed, every dim of x but the last a row.
using LinearPlan = MatmulPlan;

LinearPlan plan_linear(Check check, const dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, Checked& xc,
                       Checked& wc) {
    xc = check(ctx, "x", x);
    check_floating(xc);
    if (xc.shape.empty())
        fail(DK_ERROR_INVALID_ARGUMENT, arg("x") + "expected at least 1 dimension [..., in_features], got a scalar");
    wc = check(ctx, "weight", weight);
    check_same_dtype(wc, xc);
    const int64_t k = xc.shape.back();
    if (wc.shape.size() != 2)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("weight") + "expected [out_features, in_features], got " +
                                            shape_string(wc.shape));
    if (wc.shape[1] != k)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("weight") + "expected " + std::to_string(k) +
                                            " in_features (the last dim of 'x'), got shape " + shape_string(wc.shape));
    const int64_t n = wc.shape[0];
    if ((n + 63) / 64 > 65535)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("weight") + "out_features = " + std::to_string(n) + " exceeds 65535 * 64");
    LinearPlan plan;
    plan.out_shape = xc.shape;
    plan.out_shape.back() = n;
    checked_numel("weight", plan.out_shape, xc.dtype);  // in_features = 0 keeps x small whatever the rows
    GemmArgs& g = plan.g;
    g.m = checked_numel("x", Shape(xc.shape.begin(), xc.shape.end() - 1), xc.dtype);
    g.n = n;
    g.k = k;
    g.batch = 1;
    g.trans_b = true;
    return plan;
}

}  // namespace

extern "C" {

DK_API dk_status dk_matmul(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, int32_t trans_a, int32_t trans_b,
                           dk_tensor* out) {
    return guard_ctx("dk_matmul", ctx, [&] {
        Checked ac = check_matrix(ctx, "a", a, trans_a);
        Checked bc = check_matrix(ctx, "b", b, trans_b);
        MatmulPlan plan = plan_matmul(ac, bc, trans_a, trans_b);
        Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, ac);
        check_shape(oc, plan.out_shape);
        check_disjoint(oc, ac);
        check_disjoint(oc, bc);
        plan.g.a = ac.data;
        plan.g.b = bc.data;
        plan.g.out = oc.data;
        plan.g.tf32 = ctx->allow_tf32;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, gemm, ac.dtype, plan.g, partials);  // a K split's partials
    });
}

DK_API dk_status dk_matmul_output_shape(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, int32_t trans_a,
                                        int32_t trans_b, int64_t* out_shape, int32_t* out_ndim) {
    return guard_ctx("dk_matmul_output_shape", ctx, [&] {
        const MatmulPlan plan = plan_matmul(check_operand(check_meta, ctx, "a", a), check_operand(check_meta, ctx, "b", b),
                                            trans_a, trans_b);
        write_shape(plan.out_shape, out_shape, out_ndim);
    });
}

DK_API dk_status dk_linear(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, const dk_tensor* bias,
                           const dk_activation* act, const dk_tensor* residual, dk_tensor* out) {
    return guard_ctx("dk_linear", ctx, [&] {
        Checked xc, wc;
        LinearPlan plan = plan_linear(check_input, ctx, x, weight, xc, wc);
        GemmArgs& g = plan.g;
        Checked oc = check_tensor(ctx, "out", out);
        check_same_dtype(oc, xc);
        check_shape(oc, plan.out_shape);
        check_disjoint(oc, xc);
        check_disjoint(oc, wc);
        g.a = xc.data;
        g.b = wc.data;
        g.out = oc.data;
        if (bias) {
            Checked bc = check_input(ctx, "bias", bias);
            check_same_dtype(bc, xc);
            check_shape(bc, {g.n}, "out_features");
            check_disjoint(oc, bc);
            g.bias = bc.data;
        }
        if (act) g.act = check_activation(act);
        if (residual) {
            Checked rc = check_input(ctx, "residual", residual);
            check_same_dtype(rc, xc);
            check_shape(rc, plan.out_shape, "the output's");
            check_no_partial_overlap(oc, rc);
            g.residual = rc.data;
        }
        g.tf32 = ctx->allow_tf32;
        DK_BACKEND_CALL_WITH_WORKSPACE(ctx, gemm, xc.dtype, g, partials);
    });
}

DK_API dk_status dk_linear_output_shape(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                        int64_t* out_shape, int32_t* out_ndim) {
    return guard_ctx("dk_linear_output_shape", ctx, [&] {
        Checked xc, wc;
        const LinearPlan plan = plan_linear(check_meta, ctx, x, weight, xc, wc);
        write_shape(plan.out_shape, out_shape, out_ndim);
    });
}

}  // extern "C"
