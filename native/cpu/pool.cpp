// cpu/pool.cpp - 2-D pooling on the cpu backend: the kernels' own element bodies
// (pool/pool_bodies.cuh) over chunks of elements on the thread pool.
#include "deepkern/dispatch.h"
#include "pool/pool.h"
#include "pool/pool_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

template <bool Backward>
static void pool2d(DType dtype, const PoolArgs& a) {
    const int64_t n = a.n * a.c * (Backward ? a.h.in * a.w.in : a.h.out * a.w.out);
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto body = Pool2d<T>::of(a);
        parallel_range(n, 1 << 12, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                if (Backward) body.backward(i);
                else body.forward(i);
            }
        });
    });
}

void pool2d_forward(const Exec&, DType dtype, const PoolArgs& a) { pool2d<false>(dtype, a); }
void pool2d_backward(const Exec&, DType dtype, const PoolArgs& a) { pool2d<true>(dtype, a); }

}  // namespace dk::cpu
