// cpu/flow.cpp - the affine coupling on the cpu backend: the kernels' own per-lane bodies
// (flow/flow_bodies.cuh) over chunks of rows on the thread pool, with the warp's xor-butterfly sum
// over each row's lanes replayed in the same order, so the log-det has the bits the cuda and emu
// kernels give.
#include "flow/flow_bodies.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"
#include "flow/flow.h"

namespace dk::cpu {

void flow_coupling(const Exec&, DType dtype, const CouplingArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(a.rows, 64, [&](int64_t b, int64_t e) {
            const int lanes = coupling_lanes(a.m);
            for (int64_t r = b; r < e; ++r) {
                float v[kCouplingLanes];
                for (int l = 0; l < lanes; ++l) v[l] = coupling_lane<T>(a, r, l, lanes);
                // the kernel's __shfl_xor_sync butterfly: after each step lane l holds v[l] + v[l ^ o]
                for (int o = lanes / 2; o > 0; o >>= 1) {
                    float w[kCouplingLanes];
                    for (int l = 0; l < lanes; ++l) w[l] = v[l] + v[l ^ o];
                    for (int l = 0; l < lanes; ++l) v[l] = w[l];
                }
                coupling_store_logdet(a, r, v[0]);
            }
        });
    });
}

void flow_coupling_backward(const Exec&, DType dtype, const CouplingBackwardArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(a.rows, 64, [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) coupling_backward_lane<T>(a, r, 0, 1);  // element-wise: any order
        });
    });
}

}  // namespace dk::cpu
