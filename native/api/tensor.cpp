// tensor.cpp - the C API of the tensor ops (fill, cast, randn, permute, narrow): validate every argument, then call the context's backend.
#include <algorithm>

#include "api.h"
#include "validate.h"
#include "tensor/tensor.h"

using namespace dk;

namespace {

// Copies the view of x with out's shape and the given element strides (and x's data shifted by
// first elements) into compact out. Output dims that x walks contiguously are merged first, so a
// slice or a permute that keeps the last dims together costs few divisions per element.
void strided_copy(dk_context* ctx, const Checked& x, const Checked& out, int64_t first,
                  const Shape& stride) {
    StridedCopyArgs a{};
    a.x = static_cast<const char*>(x.data) + first * dtype_size(x.dtype);
    a.out = out.data;
    a.numel = out.numel;
    for (size_t d = 0; d < out.shape.size(); ++d) push_dim(a.ndim, a.shape, {a.x_stride}, out.shape[d], {stride[d]});
    DK_BACKEND_CALL(ctx, strided_copy, x.dtype, a);
}

// x's shape with its dims reordered: out dim d is x's dim dims[d]. dims holds dims_count entries,
// which must be a permutation of 0 .. x.ndim - 1.
Shape permuted_shape(const Checked& x, const int32_t* dims, int32_t dims_count) {
    const size_t nd = x.shape.size();
    if (dims_count != int32_t(nd) || (!dims && nd > 0))
        fail(DK_ERROR_INVALID_ARGUMENT, arg("dims") + "expected a permutation of the " + std::to_string(nd) +
                                            " dims of " + shape_string(x.shape) + ", got " +
                                            (dims || nd == 0 ? std::to_string(dims_count) + " dims" : std::string("NULL")));
    Shape shape;
    shape.resize(nd);
    bool seen[kMaxDims] = {};
    for (size_t d = 0; d < nd; ++d) {
        const int32_t src = dims[d];
        if (src < 0 || size_t(src) >= nd || seen[size_t(src)])
            fail(DK_ERROR_INVALID_ARGUMENT, arg("dims") + "expected a permutation of 0.." + std::to_string(int64_t(nd) - 1) +
                                                ", got " + std::to_string(src) + " at position " + std::to_string(d));
        seen[size_t(src)] = true;
        shape[d] = x.shape[size_t(src)];
    }
    return shape;
}

// x's shape with length elements along dim, taken from start.
Shape narrowed_shape(const Checked& x, int32_t dim, int64_t start, int64_t length) {
    const int64_t nd = int64_t(x.shape.size());
    if (dim < 0 || dim >= nd)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("dim") + "expected 0.." + std::to_string(nd - 1) + " for shape " +
                                            shape_string(x.shape) + ", got " + std::to_string(dim));
    const int64_t extent = x.shape[size_t(dim)];
    if (length < 0 || length > extent)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("length") + "expected 0.." + std::to_string(extent) + " along dim " +
                                            std::to_string(dim) + ", got " + std::to_string(length));
    if (start < 0 || start > extent - length)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("start") + "expected 0.." + std::to_string(extent - length) + " for length " +
                                            std::to_string(length) + " of " + std::to_string(extent) + ", got " +
                                            std::to_string(start));
    Shape shape = x.shape;
    shape[size_t(dim)] = length;
    return shape;
}

}  // namespace

extern "C" {

DK_API dk_status dk_copy(dk_context* ctx, const dk_tensor* x, dk_tensor* out) {
    return guard_ctx("dk_copy", ctx, [&] {
        Checked i = check_view(ctx, "x", x);
        Checked o = check_view(ctx, "out", out);
        check_same_dtype(o, i);
        check_same_shape(o, i);
        check_distinct(o);
        if (overlap(o, i)) {  // x is read as it was before the copy began, as torch's copy_
            if (o.data == i.data && o.strides == i.strides) return;  // x onto itself
            i = scratch_copy(ctx, i);
        }
        StridedCopyArgs a{};
        a.x = i.data;
        a.out = o.data;
        a.numel = o.numel;
        a.out_strided = true;
        for (size_t d = 0; d < o.shape.size(); ++d)
            push_dim(a.ndim, a.shape, {a.x_stride, a.out_stride}, o.shape[d], {i.strides[d], o.strides[d]});
        if (o.numel == 0) return;
        DK_BACKEND_CALL(ctx, strided_copy, i.dtype, a);
    });
}

DK_API dk_status dk_fill(dk_context* ctx, dk_tensor* out, double value) {
    return guard_ctx("dk_fill", ctx, [&] {
        Checked o = check_tensor(ctx, "out", out);
        DK_BACKEND_CALL(ctx, fill, o.dtype, o.data, o.numel, value);
    });
}

DK_API dk_status dk_cast(dk_context* ctx, const dk_tensor* x, dk_tensor* out) {
    return guard_ctx("dk_cast", ctx, [&] {
        Checked i = check_input(ctx, "x", x);
        Checked o = check_tensor(ctx, "out", out);
        check_same_shape(o, i);
        if (o.data != i.data || o.dtype != i.dtype) check_disjoint(o, i);  // no in-place across element sizes
        DK_BACKEND_CALL(ctx, cast, i.dtype, i.data, o.dtype, o.data, o.numel);
    });
}

DK_API dk_status dk_permute(dk_context* ctx, const dk_tensor* x, const int32_t* dims, dk_tensor* out) {
    return guard_ctx("dk_permute", ctx, [&] {
        Checked i = check_input(ctx, "x", x);
        Checked o = check_tensor(ctx, "out", out);
        check_same_dtype(o, i);
        const size_t nd = i.shape.size();
        check_shape(o, permuted_shape(i, dims, int32_t(nd)), "x permuted");
        check_disjoint(o, i);
        const Shape from = compact_strides(i.shape);
        Shape stride;
        stride.resize(nd);
        for (size_t d = 0; d < nd; ++d) stride[d] = from[size_t(dims[d])];
        strided_copy(ctx, i, o, 0, stride);
    });
}

DK_API dk_status dk_permute_output_shape(dk_context* ctx, const dk_tensor* x, const int32_t* dims, int32_t dims_count,
                                         int64_t* out_shape, int32_t* out_ndim) {
    return guard_ctx("dk_permute_output_shape", ctx, [&] {
        write_shape(permuted_shape(check_meta(ctx, "x", x), dims, dims_count), out_shape, out_ndim);
    });
}

DK_API dk_status dk_narrow(dk_context* ctx, const dk_tensor* x, int32_t dim, int64_t start, dk_tensor* out) {
    return guard_ctx("dk_narrow", ctx, [&] {
        Checked i = check_input(ctx, "x", x);
        Checked o = check_tensor(ctx, "out", out);
        check_same_dtype(o, i);
        const int64_t nd = int64_t(i.shape.size());
        if (dim < 0 || dim >= nd || o.shape.size() != i.shape.size() || o.shape[size_t(dim)] > i.shape[size_t(dim)])
            fail(DK_ERROR_INVALID_ARGUMENT, arg("out") + "expected at most x's extents " + shape_string(i.shape) +
                                                " along dim " + std::to_string(dim) + ", got " + shape_string(o.shape));
        check_shape(o, narrowed_shape(i, dim, start, o.shape[size_t(dim)]), "x narrowed");
        check_disjoint(o, i);
        Shape stride = compact_strides(i.shape);
        strided_copy(ctx, i, o, start * stride[size_t(dim)], stride);
    });
}

DK_API dk_status dk_narrow_output_shape(dk_context* ctx, const dk_tensor* x, int32_t dim, int64_t start, int64_t length,
                                        int64_t* out_shape, int32_t* out_ndim) {
    return guard_ctx("dk_narrow_output_shape", ctx, [&] {
        write_shape(narrowed_shape(check_meta(ctx, "x", x), dim, start, length), out_shape, out_ndim);
    });
}

DK_API dk_status dk_randn(dk_context* ctx, dk_tensor* out, uint64_t seed, uint64_t offset) {
    return guard_ctx("dk_randn", ctx, [&] {
        Checked o = check_tensor(ctx, "out", out);
        check_floating(o);
        DK_BACKEND_CALL(ctx, randn, o.dtype, o.data, o.numel, seed, offset);
    });
}

DK_API dk_status dk_randn_next(dk_context* ctx, dk_tensor* out) {
    return guard_ctx("dk_randn_next", ctx, [&] {
        Checked o = check_tensor(ctx, "out", out);
        check_floating(o);
        uint64_t seed, offset;
        {
            std::lock_guard<std::mutex> lock(ctx->rng_mutex);
            seed = ctx->seed;
            offset = ctx->offset;
            ctx->offset += uint64_t(o.numel + 3) / 4;  // one Philox block per four normals
        }
        DK_BACKEND_CALL(ctx, randn, o.dtype, o.data, o.numel, seed, offset);
    });
}

}  // extern "C"
