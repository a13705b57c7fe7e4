// cpu/reduction.cpp - reductions on the cpu backend: each output element's reduced elements in
// index order on one thread (f64 running sums), the outputs spread over the thread pool, with the
// kernels' own state and combine rule (reduction/reduction_bodies.cuh).
#include "reduction/reduction.h"
#include "reduction/reduction_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

void reduce(const Exec&, DType dtype, const ReduceArgs& a) {
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using Acc = typename std::conditional<is_integer_dtype<T>::value, int64_t, double>::type;
        const T* x = static_cast<const T*>(a.x);
        const int64_t grain = a.inner_numel >= (1 << 14) ? 1 : (1 << 14) / (a.inner_numel + 1) + 1;
        parallel_range(a.outer_numel, grain, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) {
                const int64_t base = reduce_offset(a.outer_ndim, a.outer_shape, a.outer_stride, o);
                ReduceState<Acc> s = reduce_empty<Acc>();
                for (int64_t r = 0; r < a.inner_numel; ++r)
                    s = reduce_step<Acc, T>(a.op, s, x, base + reduce_offset(a.inner_ndim, a.inner_shape, a.inner_stride, r), r);
                reduce_store<Acc, T>(a, o, s);
            }
        });
    });
}

}  // namespace dk::cpu
