// pool.cu - 2-D max / average / adaptive pooling, forward and backward (pool/pool_bodies.cuh).
// One thread per output element (forward) or input element (backward, a gather: deterministic,
// no atomics) in a grid-stride loop; NHWC puts the channel innermost, so neighbouring threads read
// neighbouring channels of one pixel and every load is coalesced in both layouts.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "pool/pool_bodies.cuh"
#include "pool/pool.h"

namespace dk {
namespace DK_BACKEND {

template <typename T, bool Backward>
__global__ void pool2d_kernel(Pool2d<T> body, int64_t n) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) {
        if (Backward) body.backward(e);
        else body.forward(e);
    }
}

template <bool Backward>
void pool2d(const Exec& ex, DType dtype, const PoolArgs& a) {
    const int64_t n = a.n * a.c * (Backward ? a.h.in * a.w.in : a.h.out * a.w.out);
    if (n == 0) return;
    constexpr int kThreads = 256;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, Backward ? "pool2d_backward" : "pool2d_forward", pool2d_kernel<T, Backward>,
               dim3(grid_for(ex, n, kThreads)), dim3(kThreads), 0, Pool2d<T>::of(a), n);
    });
}

void pool2d_forward(const Exec& ex, DType dtype, const PoolArgs& a) { pool2d<false>(ex, dtype, a); }
void pool2d_backward(const Exec& ex, DType dtype, const PoolArgs& a) { pool2d<true>(ex, dtype, a); }

}  // namespace DK_BACKEND
}  // namespace dk
