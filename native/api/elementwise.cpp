// elementwise.cpp - the C API of binary arithmetic: validate the operands (views are read through
// their strides), form torch's broadcast shape, merge the dims both operands walk contiguously, run.
#include <cmath>

#include "api.h"
#include "elementwise/elementwise.h"
#include "validate.h"

using namespace dk;

namespace {

void check_op(int32_t op) {
    if (op < DK_BINARY_ADD || op > DK_BINARY_MINIMUM)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'op': expected a dk_binary_op (" + std::to_string(DK_BINARY_ADD) +
                                            ".." + std::to_string(DK_BINARY_MINIMUM) + "), got " + std::to_string(op));
}

// torch's broadcast of a and b: aligned at the last dim, each pair of extents equal or one of them 1.
Shape broadcast_shape(const Checked& a, const Checked& b) {
    const size_t nd = a.shape.size() > b.shape.size() ? a.shape.size() : b.shape.size();
    Shape out;
    out.resize(nd);
    for (size_t i = 0; i < nd; ++i) {
        const int64_t da = i < nd - a.shape.size() ? 1 : a.shape[i - (nd - a.shape.size())];
        const int64_t db = i < nd - b.shape.size() ? 1 : b.shape[i - (nd - b.shape.size())];
        if (da != db && da != 1 && db != 1)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("b") + "shape " + shape_string(b.shape) + " does not broadcast with 'a' " +
                                                shape_string(a.shape) + " (dim " + std::to_string(i) + ": " +
                                                std::to_string(da) + " vs " + std::to_string(db) + ")");
        out[i] = da == 1 ? db : da;
    }
    checked_numel("b", out, a.dtype);
    return out;
}

// t's element strides (its own: a view is read as it is) against the broadcast shape out: 0 where
// t has extent 1 or no dim.
void broadcast_strides(const Checked& t, const Shape& out, int64_t* strides) {
    const size_t lead = out.size() - t.shape.size();
    for (size_t i = 0; i < out.size(); ++i) {
        const int64_t extent = i < lead ? 1 : t.shape[i - lead];
        strides[i] = extent == 1 ? 0 : t.strides[i - lead];
    }
}

// out, any view whose elements are distinct (x.narrow(...).add_(y) writes a slice in place).
Checked check_out(const dk_context* ctx, const dk_tensor* out, const Checked& a, const Shape& shape, const char* whose) {
    Checked oc = check_view(ctx, "out", out);
    check_same_dtype(oc, a);
    check_shape(oc, shape, whose);
    check_distinct(oc);
    return oc;
}

// out may share memory with an input only element for element (in place): each out element then
// reads its own address before writing it. in_strides: in's strides over out's shape (broadcast).
void check_readable(const Checked& out, const Checked& in, const int64_t* in_strides) {
    if (out.numel == 0 || !overlap(out, in)) return;
    bool same = out.data == in.data;
    for (size_t d = 0; d < out.shape.size() && same; ++d) same = out.shape[d] == 1 || in_strides[d] == out.strides[d];
    if (!same)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(out.name) + "shares memory with '" + in.name + "', which is read " +
                                            "broadcast or through other strides: its elements would be overwritten " +
                                            "before they are read");
}

// Fills a's shape and the strides of both operands and out for out shape (merged: push_dim).
void set_dims(BinaryArgs& a, const Checked& out, const int64_t* sa, const int64_t* sb) {
    a.ndim = 0;
    for (size_t d = 0; d < out.shape.size(); ++d)
        push_dim(a.ndim, a.shape, {a.a_stride, a.b_stride, a.out_stride}, out.shape[d], {sa[d], sb[d], out.strides[d]});
    if (a.ndim == 0) {  // a scalar, or all extents 1
        a.ndim = 1;
        a.shape[0] = 1;
        a.a_stride[0] = a.b_stride[0] = a.out_stride[0] = 0;
    }
}

// A scalar for an integer tensor must be a whole number its dtype holds: the kernels convert it
// to that dtype, where a larger one would be undefined.
void check_number(const Checked& a, const char* name, double v) {
    if (a.dtype != DType::i32 && a.dtype != DType::i64) return;
    const double limit = a.dtype == DType::i32 ? 0x1p31 : 0x1p63;
    if (!(std::isfinite(v) && v == std::floor(v) && v >= -limit && v < limit))
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected a whole number in the range of the " + dtype_name(a.dtype) +
                                            " tensor 'a', got " + std::to_string(v));
}

void check_integer_op(const Checked& a, int32_t op) {
    if (op == DK_BINARY_DIV && (a.dtype == DType::i32 || a.dtype == DType::i64))
        fail(DK_ERROR_INVALID_ARGUMENT, arg("a") + "div needs a floating dtype, got " + dtype_name(a.dtype) +
                                            ": convert it first (true division makes floats)");
}

}  // namespace

extern "C" {

DK_API dk_status dk_binary(dk_context* ctx, int32_t op, const dk_tensor* a, const dk_tensor* b, double alpha,
                           dk_tensor* out) {
    return guard_ctx("dk_binary", ctx, [&] {
        check_op(op);
        Checked ac = check_view(ctx, "a", a);
        Checked bc = check_view(ctx, "b", b);
        check_same_dtype(bc, ac);
        check_integer_op(ac, op);
        check_number(ac, "alpha", alpha);
        if (!std::isfinite(alpha)) fail(DK_ERROR_INVALID_ARGUMENT, arg("alpha") + "expected a finite value, got " + std::to_string(alpha));
        const Shape shape = broadcast_shape(ac, bc);
        Checked oc = check_out(ctx, out, ac, shape, "the broadcast of 'a' and 'b'");
        int64_t sa[kMaxDims], sb[kMaxDims];
        broadcast_strides(ac, shape, sa);
        broadcast_strides(bc, shape, sb);
        check_readable(oc, ac, sa);
        check_readable(oc, bc, sb);
        BinaryArgs args{};
        args.a = ac.data;
        args.b = bc.data;
        args.out = oc.data;
        args.op = BinaryOp(op);
        args.numel = oc.numel;
        args.alpha = alpha;
        set_dims(args, oc, sa, sb);
        DK_BACKEND_CALL(ctx, binary, ac.dtype, args);
    });
}

DK_API dk_status dk_binary_output_shape(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, int64_t* out_shape,
                                        int32_t* out_ndim) {
    return guard_ctx("dk_binary_output_shape", ctx, [&] {
        Checked ac = check_meta(ctx, "a", a);
        Checked bc = check_meta(ctx, "b", b);
        check_same_dtype(bc, ac);
        write_shape(broadcast_shape(ac, bc), out_shape, out_ndim);
    });
}

DK_API dk_status dk_binary_scalar(dk_context* ctx, int32_t op, const dk_tensor* a, double scalar, int32_t scalar_first,
                                  dk_tensor* out) {
    return guard_ctx("dk_binary_scalar", ctx, [&] {
        check_op(op);
        Checked ac = check_view(ctx, "a", a);
        check_integer_op(ac, op);
        check_number(ac, "scalar", scalar);
        Checked oc = check_out(ctx, out, ac, ac.shape, "the shape of 'a'");
        int64_t s[kMaxDims];
        broadcast_strides(ac, ac.shape, s);
        check_readable(oc, ac, s);
        BinaryArgs args{};
        args.a = ac.data;
        args.out = oc.data;
        args.op = BinaryOp(op);
        args.numel = oc.numel;
        args.scalar = scalar;
        args.alpha = 1.0;
        args.has_scalar = true;
        args.scalar_first = scalar_first != 0;
        set_dims(args, oc, s, s);  // b's strides are not read: the scalar stands in for b
        DK_BACKEND_CALL(ctx, binary, ac.dtype, args);
    });
}

}  // extern "C"
