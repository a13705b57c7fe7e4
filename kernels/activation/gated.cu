// gated.cu - gated linear units: out = up * act(gate) and its backward (glu, swiglu, geglu,
// reglu), in the two-tensor form and the split form [..., 2H] = [up | gate] (one walk with a row
// stride of 2H reads both halves of a row; no copy makes the halves contiguous).
// Memory traffic: forward reads 2n and writes n; backward reads 3n and writes 2n.
#include "deepkern/portable.cuh"
#include "activation/activation_bodies.cuh"
#include "deepkern/walk.cuh"
#include "deepkern/dispatch.h"
#include "activation/activation.h"

namespace dk {
namespace DK_BACKEND {

// When gate/up rows are contiguous (row_stride == cols) the space is walked flat, so packs need
// no alignment of cols; the walk then keeps row == 0 and addresses gate/up by the flat index.
static int64_t walk_rows(const GatedArgs& a) { return a.row_stride == a.cols ? 1 : a.rows; }
static int64_t walk_cols(const GatedArgs& a) { return a.row_stride == a.cols ? a.rows * a.cols : a.cols; }

void gated_forward(const Exec& ex, DType dtype, const ActParams& p, const GatedArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_gate_activation(p, [&](auto act) {
            const auto body = GatedForward<T, decltype(act)>::of(a, act);
            walk<T>(ex, "gated_forward", body, walk_rows(a), walk_cols(a), {a.gate, a.up, a.out});
        });
    });
}

void gated_backward(const Exec& ex, DType dtype, const ActParams& p, const GatedArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_gate_activation(p, [&](auto act) {
            const auto body = GatedBackward<T, decltype(act)>::of(a, act);
            walk<T>(ex, "gated_backward", body, walk_rows(a), walk_cols(a),
                    {a.gate, a.up, a.grad_out, a.grad_gate, a.grad_up});
        });
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
