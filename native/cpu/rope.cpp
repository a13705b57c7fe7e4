// cpu/rope.cpp - the rotary embedding on the cpu backend: the kernels' own pair body
// (rope/rope_bodies.cuh) over chunks of pairs on the thread pool.
#include "deepkern/dispatch.h"
#include "rope/rope.h"
#include "rope/rope_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

void rope(const Exec&, DType dtype, const RopeArgs& a) {
    const int64_t pairs = a.bh * a.seq * (a.dim / 2);
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto body = RopePair<T>::of(a);
        parallel_range(pairs, 1 << 13, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) body.apply(p);
        });
    });
}

}  // namespace dk::cpu

