// decode.cu - detection heads' raw outputs into boxes, scores and classes (detect/decode_bodies.cuh).
//
// YOLO (v3, v5, v8): one launch over every prediction of every level and image, a thread each; the
// head version is a template parameter choosing the box formula. Traffic: each prediction reads its
// cell's 5 + K (v3 / v5) or 4 reg_max + K (v8) channels once - the whole head, coalesced along the
// row - and writes 24 bytes (box, score: f32; class: int64).
//
// CenterNet, two launches:
// 1. Scores: a thread per heat element computes its peak-suppressed score (sigmoid, kept where it
//    equals its 3x3 max) as a 32-bit key into the workspace: reads the heat through L1 (9 taps per
//    element, each element from DRAM once), writes 4 bytes per element.
// 2. Top-K, one block per image: a radix select (detect_device.cuh block_top_k) takes the K largest
//    keys, then a bitonic sort of the K keys in shared memory orders them by decreasing score, ties
//    by lower index, and each slot gathers its wh / offset and is written.
//    Traffic: 5 passes over the image's 4-byte keys (from L2 where they fit), K (wh, offset) taps.
//    One block per image bounds this step by one SM; fine for CenterNet's maps (80 x 128 x 128),
//    a multi-block select would be the next step for larger ones.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "detect/decode_bodies.cuh"
#include "deepkern/walk.cuh"
#include "detect/detect_device.cuh"
#include "detect/detect.h"

namespace dk {
namespace DK_BACKEND {

constexpr int kDecodeThreads = 256;
constexpr int kTopkThreads = 1024;

void yolo_decode(const Exec& ex, DType dtype, YoloHead head, const YoloDecodeArgs& a) {
    const int64_t n = a.n * a.total;
    if (n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto run = [&](auto body) {
            launch(ex, "yolo_decode", each_kernel<decltype(body)>, dim3(grid_for(ex, n, kDecodeThreads)),
                   dim3(kDecodeThreads), 0, body, n);
        };
        if (head == YoloHead::v3) run(YoloDecode<T, YoloHead::v3>{a});
        else if (head == YoloHead::v5) run(YoloDecode<T, YoloHead::v5>{a});
        else run(YoloDecode<T, YoloHead::v8>{a});
    });
}

static int32_t sort_length(int32_t k) {
    int32_t p = 2;
    while (p < k) p <<= 1;
    return p;
}

// The top K keys of an image by decreasing score, ties by lower index (detect_device.cuh
// block_top_k), sorted in shared memory; each slot gathers its wh / offset and is written.
template <typename T>
__global__ void centernet_topk_kernel(CenterNetArgs a, const uint32_t* all_keys, int32_t p) {
    DK_DYNAMIC_SHARED(uint64_t, top);
    const int64_t image = blockIdx.x, m = int64_t(a.classes) * a.height * a.width;
    const uint32_t* keys = all_keys + image * m;
    block_top_k([&](int64_t i) { return keys[i]; }, m, a.k, false, top);
    for (int s = a.k + threadIdx.x; s < p; s += blockDim.x) top[s] = ~uint64_t(0);
    __syncthreads();
    block_bitonic_sort(top, p);
    for (int32_t s = threadIdx.x; s < a.k; s += blockDim.x) centernet_emit<T>(a, image, s, top[s]);
}

void centernet_decode_workspace(const Exec&, DType, const CenterNetArgs& a, int64_t* bytes) {
    *bytes = int64_t(sizeof(uint32_t)) * a.n * a.classes * a.height * a.width;
}

void centernet_decode(const Exec& ex, DType dtype, const CenterNetArgs& a) {
    const int64_t elements = a.n * a.classes * a.height * a.width;
    if (elements == 0) return;
    uint32_t* keys = static_cast<uint32_t*>(a.workspace);
    const int32_t p = sort_length(a.k);
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "centernet_scores", each_kernel<CenterNetScore<T>>, dim3(grid_for(ex, elements, kDecodeThreads)),
               dim3(kDecodeThreads), 0, CenterNetScore<T>{a, keys}, elements);
        launch(ex, "centernet_topk", centernet_topk_kernel<T>, dim3(unsigned(a.n)), dim3(kTopkThreads),
               size_t(p) * sizeof(uint64_t), a, static_cast<const uint32_t*>(keys), p);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
