// cpu/elementwise.cpp - binary arithmetic on the cpu backend: the kernels' own element body
// (elementwise/elementwise_bodies.cuh) over chunks of the output on the thread pool.
#include "elementwise/elementwise.h"
#include "elementwise/elementwise_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

void binary(const Exec&, DType dtype, const BinaryArgs& a) {
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(a.numel, 1 << 14, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) binary_element<T>(a, i);
        });
    });
}

}  // namespace dk::cpu
