// postprocess.cu - the fused detection postprocess (TensorRT EfficientNMS's shape): per image, the
// (box, class) pairs whose score is above the threshold, the top_k best of them, greedy NMS among
// those (per class unless agnostic) stopping at max_det kept, and padded outputs - in one launch,
// one block per image (the walk needs the whole image's candidates in one block's shared memory).
//
// 1. Select (detect_device.cuh block_top_k): the pairs' candidate keys (postprocess_bodies.cuh:
//    the raw score's ordered bits, 0 for no candidate) recomputed from the scores on each pass: a
//    counting pass, then - only where more than top_k pairs are candidates - a radix select, then
//    a collecting pass. Reads the image's scores 2 to 6 times (4 bytes a pair in f32; L2 serves the
//    repeats of a 640x640 YOLO head, 8400 x 80 pairs = 2.7 MB).
// 2. Sort: the M <= top_k selected keys, a bitonic sort in shared memory (8 bytes a key).
// 3. Walk: thread t owns candidates s = t + q * blockDim.x (q < kOwned): their classes in
//    registers, their corner boxes in shared memory (16 bytes a candidate, where the keys were). Each step the block finds the lowest live candidate (a shared atomicMin),
//    keeps it - its owner writes the output slot and publishes its box - and every thread drops its
//    live candidates that the kept one suppresses. Two barriers per kept box, at most max_det steps;
//    suppressed candidates cost no step. The slots past the kept ones are padded, the count written.
// Traffic beyond the scores: M boxes read once, 24 bytes per output slot written.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "detect/detect_device.cuh"
#include "detect/postprocess_bodies.cuh"
#include "detect/detect.h"

namespace dk {
namespace DK_BACKEND {

constexpr int kPostThreads = 1024;
constexpr int kOwned = kPostprocessMaxTopK / kPostThreads;
static_assert(kOwned * kPostThreads == kPostprocessMaxTopK, "every candidate has one owning thread");

template <typename T>
__global__ void __launch_bounds__(kPostThreads) postprocess_kernel(PostprocessArgs a, int32_t p) {
    DK_DYNAMIC_SHARED(uint64_t, top);   // [p] sort keys, then [p] Box
    DK_SHARED(float, kept_box, [4]);    // the kept candidate of this step
    DK_SHARED(int64_t, kept_class, [1]);
    DK_SHARED(int32_t, next, [2]);      // the lowest live candidate, two steps in turn
    const int t = threadIdx.x;
    const int64_t image = blockIdx.x, pairs = a.boxes_per_image * a.classes;

    const int32_t m = block_top_k([&](int64_t i) { return postprocess_key<T>(a, image, i); }, pairs, a.top_k, true, top);
    for (int s = m + t; s < p; s += blockDim.x) top[s] = ~uint64_t(0);
    __syncthreads();
    block_bitonic_sort(top, p);

    // the sorted keys give way to the candidates' corner boxes, candidate s at boxes[s]
    int64_t cls[kOwned];
    int32_t pair[kOwned];  // the API keeps an image's pairs below 2^31
    bool live[kOwned];
DK_UNROLL
    for (int q = 0; q < kOwned; ++q) {
        const int s = t + q * kPostThreads;
        live[q] = s < m;
        pair[q] = live[q] ? int32_t(rank_key_index(top[s])) : 0;
    }
    __syncthreads();
    Box* boxes = reinterpret_cast<Box*>(&top[0]);
DK_UNROLL
    for (int q = 0; q < kOwned; ++q) {
        const int s = t + q * kPostThreads;
        if (live[q]) boxes[s] = postprocess_box<T>(a, image, pair[q]);
        cls[q] = live[q] ? postprocess_class(a, image, pair[q]) : 0;
    }
    if (t == 0) next[0] = next[1] = INT32_MAX;
    __syncthreads();

    int32_t kept = 0;
    for (int step = 0; kept < a.max_det; ++step) {
        // the first live candidate of this thread is its lowest: q ascends with s
        int32_t mine = INT32_MAX;
DK_UNROLL
        for (int q = kOwned - 1; q >= 0; --q)
            if (live[q]) mine = t + q * kPostThreads;
        if (mine != INT32_MAX) atomicMin(&next[step & 1], mine);
        __syncthreads();
        const int32_t s = next[step & 1];
        if (s == INT32_MAX) break;
        // the other slot was last read before the barrier above and is next written after the one below
        if (t == 0) next[(step + 1) & 1] = INT32_MAX;
        int32_t owned = -1;  // the kept pair, in its owner
DK_UNROLL
        for (int q = 0; q < kOwned; ++q)
            if (t + q * kPostThreads == s) {
                owned = pair[q];
                live[q] = false;
            }
        if (owned >= 0) {
            postprocess_emit<T>(a, image, kept, owned);
            for (int c = 0; c < 4; ++c) kept_box[c] = boxes[s].v[c];
            kept_class[0] = postprocess_class(a, image, owned);
        }
        __syncthreads();
        const Box k{{kept_box[0], kept_box[1], kept_box[2], kept_box[3]}};
        const int64_t kc = kept_class[0];
DK_UNROLL
        for (int q = 0; q < kOwned; ++q)
            if (live[q] && postprocess_suppresses(a, k, kc, boxes[t + q * kPostThreads], cls[q])) live[q] = false;
        ++kept;
    }
    for (int32_t slot = kept + t; slot < a.max_det; slot += blockDim.x) postprocess_emit<T>(a, image, slot, -1);
    if (t == 0) a.count[image] = kept;
}

static int32_t sort_length(int32_t k) {
    int32_t p = 2;
    while (p < k) p <<= 1;
    return p;
}

void postprocess(const Exec& ex, DType dtype, const PostprocessArgs& a) {
    if (a.n == 0) return;
    const int64_t pairs = a.boxes_per_image * a.classes;
    const int32_t p = sort_length(int32_t(pairs < a.top_k ? pairs : a.top_k));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "detect_postprocess", postprocess_kernel<T>, dim3(unsigned(a.n)), dim3(kPostThreads),
               size_t(p) * sizeof(Box), a, p);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
