// boxes.cu - the detection family's element-wise ops (detect/detect_bodies.cuh): box conversion,
// area and clipping, one thread per box; pairwise IoU, one thread per (i, j) of the [n, m] output,
// neighbouring threads taking neighbouring boxes of b while sharing box i of a (a broadcast load).
// Traffic: box_map reads 4 and writes 4 (or 1) elements per box; box_iou writes n m elements and
// reads its 2 (n m) boxes through L1/L2, from n + m boxes in DRAM.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "detect/detect_bodies.cuh"
#include "deepkern/walk.cuh"
#include "detect/detect.h"

namespace dk {
namespace DK_BACKEND {

template <template <typename> class Body, class Args>
static void each(const Exec& ex, const char* name, DType dtype, const Args& a, int64_t n) {
    if (n == 0) return;
    constexpr int kThreads = 256;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, name, each_kernel<Body<T>>, dim3(grid_for(ex, n, kThreads)), dim3(kThreads), 0, Body<T>{a}, n);
    });
}

void box_map(const Exec& ex, DType dtype, const BoxMapArgs& a) { each<BoxMap>(ex, "box_map", dtype, a, a.count); }
void box_iou(const Exec& ex, DType dtype, const BoxIouArgs& a) { each<BoxIou>(ex, "box_iou", dtype, a, a.n * a.m); }

}  // namespace DK_BACKEND
}  // namespace dk
