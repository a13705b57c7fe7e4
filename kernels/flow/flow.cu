// flow.cu - the affine coupling (RealNVP, with Glow's sigmoid(raw + 2) scale), fused: one kernel
// per direction reads the transformed half and the conditioner output [shift | raw scale] once,
// writes the other direction's half and, in the same pass, the per-sample log-determinant.
//
// A warp per row (kCouplingLanes = 32 lanes, 4 rows per block, rows grid-strided): each lane walks
// its elements of the row, then the warp's xor-butterfly sum gives the row's sum of log s, which
// lane 0 writes (or adds to the running log-det). No shared memory, no atomics: the same bits on
// every run. Memory traffic: in + h + out, 4 elements per transformed element, bandwidth-bound.
// (A row of a 2-D flow has m = 1 element: 31 lanes idle; such flows are small.)
#include "deepkern/portable.cuh"
#include "deepkern/reduce.cuh"
#include "deepkern/dispatch.h"
#include "flow/flow_bodies.cuh"
#include "flow/flow.h"

namespace dk {
namespace DK_BACKEND {

namespace {

constexpr int kFlowRowsPerBlock = 4;  // warps per block, one row each

template <typename T>
__global__ void flow_coupling_kernel(CouplingArgs a) {
    const int lane = threadIdx.x % 32;
    const int64_t step = int64_t(gridDim.x) * kFlowRowsPerBlock;
    for (int64_t r = int64_t(blockIdx.x) * kFlowRowsPerBlock + threadIdx.x / 32; r < a.rows; r += step) {
        const float total = warp_sum(coupling_lane<T>(a, r, lane));
        if (lane == 0) coupling_store_logdet(a, r, total);
    }
}

template <typename T>
__global__ void flow_coupling_backward_kernel(CouplingBackwardArgs a) {
    const int lane = threadIdx.x % 32;
    const int64_t step = int64_t(gridDim.x) * kFlowRowsPerBlock;
    for (int64_t r = int64_t(blockIdx.x) * kFlowRowsPerBlock + threadIdx.x / 32; r < a.rows; r += step)
        coupling_backward_lane<T>(a, r, lane);
}

}  // namespace

void flow_coupling(const Exec& ex, DType dtype, const CouplingArgs& a) {
    if (a.rows == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, a.inverse ? "flow_coupling_inverse" : "flow_coupling_forward", flow_coupling_kernel<T>,
               dim3(grid_for(ex, a.rows, kFlowRowsPerBlock)), dim3(32 * kFlowRowsPerBlock), 0, a);
    });
}

void flow_coupling_backward(const Exec& ex, DType dtype, const CouplingBackwardArgs& a) {
    if (a.rows == 0 || a.m == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "flow_coupling_backward", flow_coupling_backward_kernel<T>,
               dim3(grid_for(ex, a.rows, kFlowRowsPerBlock)), dim3(32 * kFlowRowsPerBlock), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
