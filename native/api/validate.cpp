#include "validate.h"

#include <algorithm>
#include <cinttypes>

#include "api.h"
#include "tensor/tensor.h"

namespace dk {

int64_t dtype_size(DType t) {
    switch (t) {
        case DType::f32: case DType::i32: return 4;
        case DType::f16: case DType::bf16: return 2;
        case DType::i64: return 8;
    }
    return 0;
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "f32";
        case DType::f16: return "f16";
        case DType::bf16: return "bf16";
        case DType::i32: return "i32";
        case DType::i64: return "i64";
    }
    return "?";
}

std::string shape_string(const Shape& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string arg(const char* name) { return std::string("argument '") + name + "': "; }

static DType decode_dtype(const char* name, dk_dtype d) {
    if (d.lanes == 1) {
        if (d.code == DK_DTYPE_FLOAT && d.bits == 32) return DType::f32;
        if (d.code == DK_DTYPE_FLOAT && d.bits == 16) return DType::f16;
        if (d.code == DK_DTYPE_BFLOAT && d.bits == 16) return DType::bf16;
        if (d.code == DK_DTYPE_INT && d.bits == 32) return DType::i32;
        if (d.code == DK_DTYPE_INT && d.bits == 64) return DType::i64;
    }
    fail(DK_ERROR_INVALID_ARGUMENT,
         arg(name) + "expected dtype f32, f16, bf16, i32 or i64, got (code " +
             std::to_string(d.code) + ", bits " + std::to_string(d.bits) + ", lanes " +
             std::to_string(d.lanes) + ")");
}

Checked check_meta(const dk_context* ctx, const char* name, const dk_tensor* t) {
    if (!t) fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected a tensor, got NULL");
    Checked c;
    c.name = name;
    c.dtype = decode_dtype(name, t->dtype);
    if (t->ndim < 0 || t->ndim > kMaxDims)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected 0 to " + std::to_string(kMaxDims) +
                                            " dimensions, got ndim " + std::to_string(t->ndim));
    if (t->ndim > 0 && !t->shape)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "shape is NULL with ndim " + std::to_string(t->ndim));
    if (t->ndim > 0) c.shape = Shape(t->shape, t->shape + t->ndim);
    for (int i = 0; i < t->ndim; ++i)
        if (c.shape[i] < 0)
            fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "negative extent in shape " + shape_string(c.shape));
    c.numel = checked_numel(name, c.shape, c.dtype);
    c.bytes = c.numel * dtype_size(c.dtype);
    c.strides = compact_strides(c.shape);
    if (t->strides && c.numel > 0) {
        int64_t last = 0;  // the offset of the last element, in elements
        for (int i = 0; i < t->ndim; ++i) {
            const int64_t s = t->strides[i];
            if (s < 0)
                fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "dimension " + std::to_string(i) + " has negative stride " +
                                                    std::to_string(s));
            if (c.shape[i] > 1 && s > (kMaxBytes / dtype_size(c.dtype) - last) / (c.shape[i] - 1))
                fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "strides span more than 64-bit byte counts");
            if (c.shape[i] > 1) {
                last += s * (c.shape[i] - 1);
                c.contiguous &= s == c.strides[i];
            }
            c.strides[i] = s;
        }
        c.bytes = (last + 1) * dtype_size(c.dtype);
    }
    if (t->device.device_type != ctx->device.device_type || t->device.device_id != ctx->device.device_id)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "tensor is on " + device_name(t->device) + ", the op runs on " +
                                            device_name(ctx->device) + ": move it there first");
    return c;
}

int64_t checked_numel(const char* name, const Shape& shape, DType dtype) {
    const int64_t limit = kMaxBytes / dtype_size(dtype);
    int64_t numel = 1;
    for (const int64_t d : shape) {
        if (d > 0 && numel > limit / d)
            fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "size of shape " + shape_string(shape) +
                                                " overflows 64-bit byte counts");
        numel *= d;
    }
    return numel;
}

Checked check_view(const dk_context* ctx, const char* name, const dk_tensor* t) {
    Checked c = check_meta(ctx, name, t);
    const int64_t elem = dtype_size(c.dtype);
    if (c.numel > 0) {
        if (!t->data) fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "data is NULL for " +
                                                        std::to_string(c.numel) + " elements");
        c.data = static_cast<char*>(t->data) + t->byte_offset;
        if (reinterpret_cast<uintptr_t>(c.data) % uintptr_t(elem) != 0)
            fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "data + byte_offset is not aligned to its " +
                                                std::to_string(elem) + "-byte elements");
    }
    return c;
}

Checked check_input(const dk_context* ctx, const char* name, const dk_tensor* t) {
    Checked c = check_view(ctx, name, t);
    return c.contiguous ? c : scratch_copy(ctx, c);
}

Checked scratch_copy(const dk_context* ctx, Checked c) {
    // the context is not otherwise changed: its allocator lends the call's scratch memory
    dk_context* mutable_ctx = const_cast<dk_context*>(ctx);
    void* compact = call_scratch(mutable_ctx, size_t(c.numel * dtype_size(c.dtype)));
    copy_compact(mutable_ctx, c, compact);
    c.data = compact;
    c.bytes = c.numel * dtype_size(c.dtype);
    c.strides = compact_strides(c.shape);
    c.contiguous = true;
    return c;
}

Shape compact_strides(const Shape& shape) {
    Shape s;
    s.resize(shape.size());
    if (!shape.empty()) s.back() = 1;
    for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
    return s;
}

void check_distinct(const Checked& t) {
    if (!distinct_elements(t))
        fail(DK_ERROR_INVALID_ARGUMENT, arg(t.name) + "its strides " + shape_string(t.strides) +
                                            " put several elements at one address (an expanded view)");
}

bool row_major(const Shape& shape, const Shape& strides) {
    const Shape compact = compact_strides(shape);
    for (size_t i = 0; i < shape.size(); ++i)
        if (shape[i] > 1 && strides[i] != compact[i]) return false;
    return true;
}

// Whether the elements of view t land on distinct addresses: with its dims ordered by stride, each
// stride passes the span of the dims below it. An empty view has no elements to collide.
bool distinct_elements(const Checked& t) {
    if (t.numel == 0) return true;
    int64_t order[kMaxDims];
    int n = 0;
    for (size_t d = 0; d < t.shape.size(); ++d)
        if (t.shape[d] > 1) order[n++] = int64_t(d);
    std::sort(order, order + n, [&](int64_t a, int64_t b) { return t.strides[size_t(a)] < t.strides[size_t(b)]; });
    int64_t span = 1;  // elements covered by the dims so far
    for (int k = 0; k < n; ++k) {
        const size_t d = size_t(order[k]);
        if (t.strides[d] < span) return false;
        span = t.strides[d] * (t.shape[d] - 1) + span;
    }
    return true;
}

Checked check_tensor(const dk_context* ctx, const char* name, const dk_tensor* t) {
    Checked c = check_view(ctx, name, t);
    if (!c.contiguous)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected a contiguous tensor to write into, got a view of shape " +
                                            shape_string(c.shape) + " with strides " + shape_string(c.strides) +
                                            " (outputs are written row-major: copy the result into the view after)");
    return c;
}

void copy_compact(dk_context* ctx, const Checked& x, void* out) {
    StridedCopyArgs a{};
    a.x = x.data;
    a.out = out;
    a.numel = x.numel;
    for (size_t d = 0; d < x.shape.size(); ++d) push_dim(a.ndim, a.shape, {a.x_stride}, x.shape[d], {x.strides[d]});
    if (x.numel == 0) return;
    DK_BACKEND_CALL(ctx, strided_copy, x.dtype, a);
}

Checked check_like(const dk_context* ctx, const char* name, const dk_tensor* t, const Checked& like) {
    Checked c = check_tensor(ctx, name, t);
    check_same_dtype(c, like);
    check_same_shape(c, like);
    return c;
}

Checked check_input_like(const dk_context* ctx, const char* name, const dk_tensor* t, const Checked& like) {
    Checked c = check_input(ctx, name, t);
    check_same_dtype(c, like);
    check_same_shape(c, like);
    return c;
}

void check_floating(const Checked& t) {
    if (t.dtype == DType::i32 || t.dtype == DType::i64)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(t.name) + "expected a floating dtype (f32, f16, bf16), got " +
                                            dtype_name(t.dtype));
}

void check_same_shape(const Checked& t, const Checked& like) {
    if (t.shape != like.shape)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(t.name) + "expected shape " + shape_string(like.shape) +
                                            " (the shape of '" + like.name + "'), got " +
                                            shape_string(t.shape));
}

void check_dtype(const Checked& t, DType dtype) {
    if (t.dtype != dtype)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(t.name) + "expected dtype " + dtype_name(dtype) + ", got " + dtype_name(t.dtype));
}

void check_shape(const Checked& t, const Shape& shape, const char* why) {
    if (t.shape != shape)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(t.name) + "expected shape " + shape_string(shape) +
                                            (why ? std::string(" (") + why + ")" : "") + ", got " + shape_string(t.shape));
}

void check_same_dtype(const Checked& t, const Checked& like) {
    if (t.dtype != like.dtype)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(t.name) + "expected dtype " + dtype_name(like.dtype) +
                                            " (the dtype of '" + like.name + "'), got " +
                                            dtype_name(t.dtype));
}

bool overlap(const Checked& a, const Checked& b) {
    return a.bytes && b.bytes && static_cast<const char*>(a.data) < static_cast<const char*>(b.data) + b.bytes &&
           static_cast<const char*>(b.data) < static_cast<const char*>(a.data) + a.bytes;
}

void check_no_partial_overlap(const Checked& out, const Checked& in) {
    if (out.data != in.data && overlap(out, in))
        fail(DK_ERROR_INVALID_ARGUMENT, arg(out.name) + "overlaps '" + in.name +
                                            "' without being the same tensor (in-place needs identical storage)");
}

void check_disjoint(const Checked& out, const Checked& in, const char* note) {
    if (overlap(out, in)) fail(DK_ERROR_INVALID_ARGUMENT, arg(out.name) + "overlaps '" + in.name + "'" + note);
}

void write_shape(const Shape& shape, int64_t* out_shape, int32_t* out_ndim) {
    if (!out_shape || !out_ndim)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(out_shape ? "out_ndim" : "out_shape") + "expected a place for the result, got NULL");
    std::copy(shape.begin(), shape.end(), out_shape);
    *out_ndim = int32_t(shape.size());
}

}  // namespace dk
