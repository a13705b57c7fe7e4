// pool.cu - 2-D max / average / adaptive pooling, forward and backward (pool/pool_bodies.cuh).
// One thread per output element (forward) or input element (backward, a gather: deterministic,
// no atomics) in a grid-stride loop (walk.cuh each_element); NHWC puts the channel innermost, so
// neighbouring threads read neighbouring channels of one pixel and every load is coalesced in
// both layouts.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/walk.cuh"
#include "pool/pool_bodies.cuh"
#include "pool/pool.h"

namespace dk {
namespace DK_BACKEND {

void pool2d_forward(const Exec& ex, DType dtype, const PoolArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        each_element<false>(ex, "pool2d_forward", Pool2d<T>::of(a), a.n * a.c * a.h.out * a.w.out);
    });
}

void pool2d_backward(const Exec& ex, DType dtype, const PoolArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        each_element<true>(ex, "pool2d_backward", Pool2d<T>::of(a), a.n * a.c * a.h.in * a.w.in);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
