// ops.cpp - the C API's tensor ops: validate every argument, then call the context's backend.
#include "api.h"
#include "validate.h"

using namespace dk;

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
