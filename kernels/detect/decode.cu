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
// 2. Top-K, one block per image: a radix select (8 bits at a time from the top, a shared-memory
//    histogram per pass) finds the K-th largest key T and how many keys equal to T make the top K;
//    a collecting pass takes the keys above T and the first such equal ones in index order (a
//    block-wide rank by ballots), then a bitonic sort of the K keys in shared memory orders them by
//    decreasing score, ties by lower index, and each slot gathers its wh / offset and is written.
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
constexpr int kRadixBits = 8;
constexpr int kRadixBins = 1 << kRadixBits;

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

template <typename T>
__global__ void centernet_topk_kernel(CenterNetArgs a, const uint32_t* all_keys, int32_t p) {
    DK_SHARED(uint32_t, hist, [kRadixBins]);
    DK_SHARED(uint32_t, warp_equal, [32]);
    DK_SHARED(uint32_t, choice, [2]);
    DK_SHARED(uint32_t, above_next, [1]);
    DK_DYNAMIC_SHARED(uint64_t, top);
    const int t = threadIdx.x, lane = t % 32, warp = t / 32, warps = blockDim.x / 32;
    const int64_t image = blockIdx.x, m = int64_t(a.classes) * a.height * a.width;
    const uint32_t* keys = all_keys + image * m;

    // Radix select: T's digits from the top; want = the rank of the K-th key among those sharing
    // T's digits so far. Only thread 0 reads the histogram, before the barrier after which it is reset.
    uint32_t prefix = 0, mask = 0, want = uint32_t(a.k);
    for (int shift = 32 - kRadixBits; shift >= 0; shift -= kRadixBits) {
        for (int b = t; b < kRadixBins; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        for (int64_t i = t; i < m; i += blockDim.x) {
            const uint32_t key = keys[i];
            if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & (kRadixBins - 1)], 1u);
        }
        __syncthreads();
        if (t == 0) {
            uint32_t above = 0;
            int d = kRadixBins - 1;
            while (above + hist[d] < want) above += hist[d--];
            choice[0] = uint32_t(d);
            choice[1] = want - above;
        }
        __syncthreads();
        prefix |= choice[0] << shift;
        mask |= uint32_t(kRadixBins - 1) << shift;
        want = choice[1];
    }
    const uint32_t threshold = prefix, above_count = uint32_t(a.k) - want;

    // Collect: keys above T anywhere in [0, above_count) (the sort orders them), the first `want`
    // keys equal to T, by index, after them. Every thread keeps the running count of equal keys.
    if (t == 0) above_next[0] = 0;
    uint32_t equal_before = 0;
    for (int64_t base = 0; base < m; base += blockDim.x) {
        const int64_t i = base + t;
        const uint32_t key = i < m ? keys[i] : 0u;
        const bool equal = i < m && key == threshold;
        const uint32_t ballot = __ballot_sync(0xffffffffu, equal);
        if (lane == 0) warp_equal[warp] = uint32_t(__popc(ballot));
        __syncthreads();
        uint32_t rank = equal_before + uint32_t(__popc(ballot & ((1u << lane) - 1u)));
        for (int w = 0; w < warps; ++w) {
            if (w < warp) rank += warp_equal[w];
            equal_before += warp_equal[w];
        }
        if (i < m && key > threshold) top[atomicAdd(&above_next[0], 1u)] = centernet_key(key, i);
        if (equal && rank < want) top[above_count + rank] = centernet_key(key, i);
        __syncthreads();
    }
    for (int s = a.k + t; s < p; s += blockDim.x) top[s] = ~uint64_t(0);
    __syncthreads();

    for (int32_t k = 2; k <= p; k <<= 1)
        for (int32_t j = k / 2; j > 0; j >>= 1) {
            for (int32_t q = t; q < p / 2; q += blockDim.x) {
                const int64_t lo = bitonic_lower(q, j);
                bitonic_pair(top[lo], top[lo + j], (lo & k) == 0);
            }
            __syncthreads();
        }
    for (int32_t s = t; s < a.k; s += blockDim.x) centernet_emit<T>(a, image, s, top[s]);
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
