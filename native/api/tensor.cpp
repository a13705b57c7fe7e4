// tensor.cpp - the C API of the tensor ops (fill, cast, randn, permute, narrow): validate every argument, then call the context's backend.
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
    for (size_t d = 0; d < out.shape.size(); ++d) {
        if (out.shape[d] == 1) continue;
        if (a.ndim > 0 && a.x_stride[a.ndim - 1] == stride[d] * out.shape[d]) {
            a.shape[a.ndim - 1] *= out.shape[d];
            a.x_stride[a.ndim - 1] = stride[d];
        } else {
            a.shape[a.ndim] = out.shape[d];
            a.x_stride[a.ndim++] = stride[d];
        }
    }
    DK_BACKEND_CALL(ctx, strided_copy, x.dtype, a);
}

// Row-major element strides of a compact shape.
Shape compact_strides(const Shape& shape) {
    Shape s;
    s.resize(shape.size());
    if (!shape.empty()) s.back() = 1;
    for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
    return s;
}

}  // namespace

extern "C" {

DK_API dk_status dk_fill(dk_context* ctx, dk_tensor* out, double value) {
    return guard_ctx("dk_fill", ctx, [&] {
        Checked o = check_tensor(ctx, "out", out);
        DK_BACKEND_CALL(ctx, fill, o.dtype, o.data, o.numel, value);
    });
}

DK_API dk_status dk_cast(dk_context* ctx, const dk_tensor* x, dk_tensor* out) {
    return guard_ctx("dk_cast", ctx, [&] {
        Checked i = check_tensor(ctx, "x", x);
        Checked o = check_tensor(ctx, "out", out);
        check_same_shape(o, i);
        if (o.data != i.data || o.dtype != i.dtype) check_disjoint(o, i);  // no in-place across element sizes
        DK_BACKEND_CALL(ctx, cast, i.dtype, i.data, o.dtype, o.data, o.numel);
    });
}

DK_API dk_status dk_permute(dk_context* ctx, const dk_tensor* x, const int32_t* dims, dk_tensor* out) {
    return guard_ctx("dk_permute", ctx, [&] {
        Checked i = check_tensor(ctx, "x", x);
        Checked o = check_tensor(ctx, "out", out);
        check_same_dtype(o, i);
        const size_t nd = i.shape.size();
        if (!dims && nd > 0) fail(DK_ERROR_INVALID_ARGUMENT, arg("dims") + "expected " + std::to_string(nd) + " dims, got NULL");
        Shape from = compact_strides(i.shape), stride, shape;
        stride.resize(nd);
        shape.resize(nd);
        bool seen[kMaxDims] = {};
        for (size_t d = 0; d < nd; ++d) {
            const int32_t src = dims[d];
            if (src < 0 || size_t(src) >= nd || seen[size_t(src)])
                fail(DK_ERROR_INVALID_ARGUMENT, arg("dims") + "expected a permutation of 0.." + std::to_string(nd - 1) +
                                                    ", got " + std::to_string(src) + " at position " + std::to_string(d));
            seen[size_t(src)] = true;
            shape[d] = i.shape[size_t(src)];
            stride[d] = from[size_t(src)];
        }
        check_shape(o, shape, "x permuted");
        check_disjoint(o, i);
        strided_copy(ctx, i, o, 0, stride);
    });
}

DK_API dk_status dk_narrow(dk_context* ctx, const dk_tensor* x, int32_t dim, int64_t start, dk_tensor* out) {
    return guard_ctx("dk_narrow", ctx, [&] {
        Checked i = check_tensor(ctx, "x", x);
        Checked o = check_tensor(ctx, "out", out);
        check_same_dtype(o, i);
        const int64_t nd = int64_t(i.shape.size());
        if (dim < 0 || dim >= nd)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("dim") + "expected 0.." + std::to_string(nd - 1) + ", got " + std::to_string(dim));
        if (o.shape.size() != i.shape.size())
            fail(DK_ERROR_INVALID_ARGUMENT, arg("out") + "expected " + std::to_string(nd) + " dims like x " +
                                                shape_string(i.shape) + ", got " + shape_string(o.shape));
        for (int64_t d = 0; d < nd; ++d)
            if (d != dim && o.shape[size_t(d)] != i.shape[size_t(d)])
                fail(DK_ERROR_INVALID_ARGUMENT, arg("out") + "expected x's extents " + shape_string(i.shape) +
                                                    " except along dim " + std::to_string(dim) + ", got " + shape_string(o.shape));
        const int64_t length = o.shape[size_t(dim)];
        if (start < 0 || start > i.shape[size_t(dim)] - length)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("start") + "expected 0.." + std::to_string(i.shape[size_t(dim)] - length) +
                                                " (x has " + std::to_string(i.shape[size_t(dim)]) + " along dim " +
                                                std::to_string(dim) + ", out " + std::to_string(length) + "), got " +
                                                std::to_string(start));
        check_disjoint(o, i);
        Shape stride = compact_strides(i.shape);
        strided_copy(ctx, i, o, start * stride[size_t(dim)], stride);
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
