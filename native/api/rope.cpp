// rope.cpp - the C API of the rotary embedding: validate x [B, H, L, D] and the parameters, run.
#include <cmath>

#include "api.h"
#include "rope/rope.h"
#include "validate.h"

using namespace dk;

namespace {

void rope(dk_context* ctx, const char* in_name, const dk_tensor* x, int32_t layout, float base, int64_t offset,
          const char* out_name, dk_tensor* out, float sign) {
    if (layout != DK_ROPE_HALF_SPLIT && layout != DK_ROPE_INTERLEAVED)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'layout': expected DK_ROPE_HALF_SPLIT (0) or DK_ROPE_INTERLEAVED (1), got " +
                                            std::to_string(layout));
    if (!(base > 0) || !std::isfinite(base))
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'base': expected a finite value > 0, got " + std::to_string(base));
    if (offset < 0)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'position_offset': expected >= 0, got " + std::to_string(offset));
    Checked xc = check_input(ctx, in_name, x);
    check_floating(xc);
    if (xc.shape.size() != 4)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(in_name) + "expected 4 dimensions [B, H, L, D], got " + shape_string(xc.shape));
    if (xc.shape[3] % 2 != 0)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(in_name) + "expected an even head dim D, got shape " + shape_string(xc.shape));
    if (offset > (int64_t(1) << 40) - xc.shape[2])
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'position_offset': " + std::to_string(offset) + " + L overflows 2^40");
    Checked oc = check_tensor(ctx, out_name, out);
    check_same_dtype(oc, xc);
    check_same_shape(oc, xc);
    check_no_partial_overlap(oc, xc);
    RopeArgs a{xc.data, oc.data, xc.shape[0] * xc.shape[1], xc.shape[2], xc.shape[3], offset, base, sign,
               layout == DK_ROPE_INTERLEAVED};
    DK_BACKEND_CALL(ctx, rope, xc.dtype, a);
}

}  // namespace

extern "C" {

DK_API dk_status dk_rope_forward(dk_context* ctx, const dk_tensor* x, int32_t layout, float base,
                                 int64_t position_offset, dk_tensor* out) {
    return guard_ctx("dk_rope_forward", ctx, [&] { rope(ctx, "x", x, layout, base, position_offset, "out", out, 1.0f); });
}

DK_API dk_status dk_rope_backward(dk_context* ctx, const dk_tensor* grad_out, int32_t layout, float base,
                                  int64_t position_offset, dk_tensor* grad_x) {
    return guard_ctx("dk_rope_backward", ctx,
                     [&] { rope(ctx, "grad_out", grad_out, layout, base, position_offset, "grad_x", grad_x, -1.0f); });
}

}  // extern "C"
