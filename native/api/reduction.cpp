// reduction.cpp - the C API of the reductions: validate x, the dims and the output, split x's
// dims into kept (outer) and reduced (inner), merge the contiguous ones, run.
#include "api.h"
#include "reduction/reduction.h"
#include "validate.h"

using namespace dk;

namespace {

struct ReducePlan {
    Shape out_shape;
    DType out_dtype;
    bool reduced[kMaxDims] = {};
};

bool is_integer(DType t) { return t == DType::i32 || t == DType::i64; }

ReducePlan plan_reduce(int32_t op, const Checked& x, const int32_t* dims, int32_t dims_count, int32_t keepdim) {
    if (op < DK_REDUCE_SUM || op > DK_REDUCE_ARGMIN)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'op': expected a dk_reduce_op (" + std::to_string(DK_REDUCE_SUM) + ".." +
                                            std::to_string(DK_REDUCE_ARGMIN) + "), got " + std::to_string(op));
    const int64_t nd = int64_t(x.shape.size());
    const int64_t span = std::max<int64_t>(nd, 1);  // as torch, a scalar takes dim 0 (or -1): itself
    if (dims_count < 0 || dims_count > span || (dims_count > 0 && !dims))
        fail(DK_ERROR_INVALID_ARGUMENT, arg("dims") + "expected up to " + std::to_string(span) + " dims of " +
                                            shape_string(x.shape) + ", got " +
                                            (dims_count > 0 && !dims ? std::string("NULL") : std::to_string(dims_count)));
    ReducePlan p;
    for (int32_t i = 0; i < dims_count; ++i) {
        const int64_t d = dims[i] < 0 ? dims[i] + span : dims[i];
        if (d < 0 || d >= span)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("dims") + "expected dims in " + std::to_string(-span) + ".." +
                                                std::to_string(span - 1) + " for shape " + shape_string(x.shape) +
                                                ", got " + std::to_string(dims[i]));
        if (p.reduced[d])
            fail(DK_ERROR_INVALID_ARGUMENT, arg("dims") + "dim " + std::to_string(d) + " is given twice");
        p.reduced[d] = true;
    }
    if (dims_count == 0)
        for (int64_t d = 0; d < nd; ++d) p.reduced[d] = true;  // no dims: every dim, as torch's x.sum()
    int64_t inner = 1;
    for (int64_t d = 0; d < nd; ++d) {
        if (p.reduced[d]) {
            inner *= x.shape[size_t(d)];
            if (keepdim) p.out_shape.push_back(1);
        } else {
            p.out_shape.push_back(x.shape[size_t(d)]);
        }
    }
    const bool arg_op = op == DK_REDUCE_ARGMAX || op == DK_REDUCE_ARGMIN;
    if (op == DK_REDUCE_MEAN && is_integer(x.dtype))
        fail(DK_ERROR_INVALID_ARGUMENT, arg("x") + "mean needs a floating dtype, got " + dtype_name(x.dtype));
    if (op != DK_REDUCE_SUM && op != DK_REDUCE_MEAN && inner == 0)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("x") + "max, min, argmax and argmin need at least one element to reduce, "
                                            "shape " + shape_string(x.shape) + " has none along the reduced dims");
    p.out_dtype = arg_op || (op == DK_REDUCE_SUM && is_integer(x.dtype)) ? DType::i64 : x.dtype;
    return p;
}

dk_dtype encode(DType t) {
    switch (t) {
        case DType::f32: return {DK_DTYPE_FLOAT, 32, 1};
        case DType::f16: return {DK_DTYPE_FLOAT, 16, 1};
        case DType::bf16: return {DK_DTYPE_BFLOAT, 16, 1};
        case DType::i32: return {DK_DTYPE_INT, 32, 1};
        case DType::i64: return {DK_DTYPE_INT, 64, 1};
    }
    return {};
}

}  // namespace

extern "C" {

DK_API dk_status dk_reduce(dk_context* ctx, int32_t op, const dk_tensor* x, const int32_t* dims, int32_t dims_count,
                           int32_t keepdim, dk_tensor* out) {
    return guard_ctx("dk_reduce", ctx, [&] {
        Checked xc = check_view(ctx, "x", x);  // a view is read through its strides
        const ReducePlan p = plan_reduce(op, xc, dims, dims_count, keepdim);
        Checked oc = check_tensor(ctx, "out", out);
        check_dtype(oc, p.out_dtype);
        check_shape(oc, p.out_shape, keepdim ? "x's shape with the reduced dims 1" : "x's shape without the reduced dims");
        check_disjoint(oc, xc);
        ReduceArgs a{};
        a.x = xc.data;
        a.out = oc.data;
        a.op = ReduceOp(op);
        a.outer_numel = oc.numel;
        a.inner_numel = 1;
        for (size_t d = 0; d < xc.shape.size(); ++d) {
            if (p.reduced[d]) {
                push_dim(a.inner_ndim, a.inner_shape, {a.inner_stride}, xc.shape[d], {xc.strides[d]});
                a.inner_numel *= xc.shape[d];
            } else {
                push_dim(a.outer_ndim, a.outer_shape, {a.outer_stride}, xc.shape[d], {xc.strides[d]});
            }
        }
        for (int32_t* n : {&a.inner_ndim, &a.outer_ndim})
            if (*n == 0) {  // nothing (or only 1s): one element there
                (n == &a.inner_ndim ? a.inner_shape : a.outer_shape)[0] = 1;
                (n == &a.inner_ndim ? a.inner_stride : a.outer_stride)[0] = 0;
                *n = 1;
            }
        DK_BACKEND_CALL(ctx, reduce, xc.dtype, a);
    });
}

DK_API dk_status dk_reduce_output_shape(dk_context* ctx, int32_t op, const dk_tensor* x, const int32_t* dims,
                                        int32_t dims_count, int32_t keepdim, int64_t* out_shape, int32_t* out_ndim,
                                        dk_dtype* out_dtype) {
    return guard_ctx("dk_reduce_output_shape", ctx, [&] {
        const ReducePlan p = plan_reduce(op, check_meta(ctx, "x", x), dims, dims_count, keepdim);
        if (!out_dtype) fail(DK_ERROR_INVALID_ARGUMENT, arg("out_dtype") + "expected a place for the result, got NULL");
        write_shape(p.out_shape, out_shape, out_ndim);
        *out_dtype = encode(p.out_dtype);
    });
}

}  // extern "C"
