// cpu/flow.cpp - the affine coupling on the cpu backend: the kernels' own per-lane bodies
// (flow/flow_bodies.cuh) over chunks of rows on the thread pool, with the warp's xor-butterfly sum
// replayed in the same order, so the log-det has the bits the cuda and emu kernels give.
#include "flow/flow_bodies.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"
#include "flow/flow.h"

namespace dk::cpu {

void flow_coupling(const Exec&, DType dtype, const CouplingArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(a.rows, 64, [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                float v[kCouplingLanes];
                for (int l = 0; l < kCouplingLanes; ++l) v[l] = coupling_lane<T>(a, r, l);
                // __shfl_xor_sync butterfly: after each step lane l holds v[l] + v[l ^ o].
                for (int o = kCouplingLanes / 2; o > 0; o >>= 1) {
                    float w[kCouplingLanes];
                    for (int l = 0; l < kCouplingLanes; ++l) w[l] = v[l] + v[l ^ o];
                    for (int l = 0; l < kCouplingLanes; ++l) v[l] = w[l];
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
            for (int64_t r = b; r < e; ++r)
                for (int l = 0; l < kCouplingLanes; ++l) coupling_backward_lane<T>(a, r, l);
        });
    });
}

}  // namespace dk::cpu
