// rope.cu - rotary position embedding on [B, H, L, D], forward and backward (the turn by -theta).
// One thread per pair of elements in a grid-stride loop; cos and sin are computed in registers
// (rope/rope_bodies.cuh), so no table is read: traffic is the 2n elements in and out.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "rope/rope_bodies.cuh"
#include "rope/rope.h"

namespace dk {
namespace DK_BACKEND {

template <typename T>
__global__ void rope_kernel(RopePair<T> body, int64_t pairs) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < pairs; p += stride) body.apply(p);
}

void rope(const Exec& ex, DType dtype, const RopeArgs& a) {
    const int64_t pairs = a.bh * a.seq * (a.dim / 2);
    if (pairs == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "rope", rope_kernel<T>, dim3(grid_for(ex, pairs, 256)), dim3(256), 0, RopePair<T>::of(a), pairs);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
