// flow.cu - the affine coupling (RealNVP, with Glow's sigmoid(raw + 2) scale), fused: one kernel
// per direction reads the transformed half and the conditioner output [shift | raw scale] once,
// writes the other direction's half and, in the same pass, the per-sample log-determinant.
//
// Rows are packed into warps by their size: L = coupling_lanes(m) lanes per row (the power of two
// >= m, up to 32), 32 / L rows per warp, 4 warps per block, grid-strided; each lane walks its
// elements of the row, then an xor butterfly over the row's L lanes gives its sum of log s, which
// the row's first lane writes (or adds to the running log-det). No shared memory, no atomics: the
// same bits on every run. Memory traffic: in + h + out, 4 elements per transformed element,
// bandwidth-bound.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "flow/flow_bodies.cuh"
#include "flow/flow.h"

namespace dk {
namespace DK_BACKEND {

namespace {

constexpr int kFlowWarps = 4;  // warps per block

template <typename T>
__global__ void flow_coupling_kernel(CouplingArgs a) {
    const int lanes = coupling_lanes(a.m), lane = threadIdx.x % 32, sub = lane % lanes, per_warp = 32 / lanes;
    const int64_t warp = int64_t(blockIdx.x) * kFlowWarps + threadIdx.x / 32;
    const int64_t step = int64_t(gridDim.x) * kFlowWarps * per_warp;
    // base is the same on every lane of the warp: every lane reaches every shuffle
    for (int64_t base = warp * per_warp; base < a.rows; base += step) {
        const int64_t r = base + lane / lanes;
        float part = r < a.rows ? coupling_lane<T>(a, r, sub, lanes) : 0.0f;
        for (int o = lanes / 2; o > 0; o >>= 1) part += __shfl_xor_sync(0xffffffffu, part, o);
        if (sub == 0 && r < a.rows) coupling_store_logdet(a, r, part);
    }
}

template <typename T>
__global__ void flow_coupling_backward_kernel(CouplingBackwardArgs a) {
    const int lanes = coupling_lanes(a.m), lane = threadIdx.x % 32, per_warp = 32 / lanes;
    const int64_t warp = int64_t(blockIdx.x) * kFlowWarps + threadIdx.x / 32;
    const int64_t step = int64_t(gridDim.x) * kFlowWarps * per_warp;
    for (int64_t r = warp * per_warp + lane / lanes; r < a.rows; r += step) coupling_backward_lane<T>(a, r, lane % lanes, lanes);
}

// Blocks for rows of m elements: 4 warps of 32 / L rows each.
unsigned coupling_grid(const Exec& ex, int64_t rows, int64_t m) {
    const int per_warp = 32 / coupling_lanes(m);
    return grid_for(ex, (rows + per_warp - 1) / per_warp, kFlowWarps);
}

}  // namespace

void flow_coupling(const Exec& ex, DType dtype, const CouplingArgs& a) {
    if (a.rows == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, a.inverse ? "flow_coupling_inverse" : "flow_coupling_forward", flow_coupling_kernel<T>,
               dim3(coupling_grid(ex, a.rows, a.m)), dim3(32 * kFlowWarps), 0, a);
    });
}

void flow_coupling_backward(const Exec& ex, DType dtype, const CouplingBackwardArgs& a) {
    if (a.rows == 0 || a.m == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "flow_coupling_backward", flow_coupling_backward_kernel<T>,
               dim3(coupling_grid(ex, a.rows, a.m)), dim3(32 * kFlowWarps), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
