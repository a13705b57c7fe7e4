// cpu/detect.cpp - the detection family on the cpu backend: the kernels' own box bodies
// (detect/detect_bodies.cuh) on the thread pool, and NMS as the greedy loop the GPU's mask walk
// computes: boxes in nms_key order, each box not yet suppressed is kept and suppresses the later
// boxes of its class whose IoU with it is above the threshold (the same predicate as the kernel).
#include <algorithm>
#include <vector>

#include "deepkern/dispatch.h"
#include "detect/detect.h"
#include "detect/decode_bodies.cuh"
#include "detect/detect_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

template <template <typename> class Body, class Args>
static void each(DType dtype, const Args& a, int64_t n) {
    dispatch_floating(dtype, [&](auto tag) {
        const Body<typename decltype(tag)::type> body{a};
        parallel_range(n, 1 << 12, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) body(i);
        });
    });
}

void box_map(const Exec&, DType dtype, const BoxMapArgs& a) { each<BoxMap>(dtype, a, a.count); }
void box_iou(const Exec&, DType dtype, const BoxIouArgs& a) { each<BoxIou>(dtype, a, a.n * a.m); }

void nms_workspace(const Exec&, DType, const NmsArgs&, int64_t* bytes) { *bytes = 0; }

void nms(const Exec&, DType dtype, const NmsArgs& a) {
    std::vector<uint64_t> keys(size_t(a.n));
    std::vector<Box> boxes(size_t(a.n));
    std::vector<int64_t> classes(size_t(a.n));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        for (int64_t i = 0; i < a.n; ++i) keys[i] = nms_key(load_float(static_cast<const T*>(a.scores)[i]), i);
        std::sort(keys.begin(), keys.end());
        for (int64_t i = 0; i < a.n; ++i) {
            boxes[i] = load_box(static_cast<const T*>(a.boxes), nms_key_index(keys[i]));
            classes[i] = nms_class(a, nms_key_index(keys[i]));
        }
    });
    std::vector<char> removed(size_t(a.n), 0);
    int64_t kept = 0;
    for (int64_t i = 0; i < a.n; ++i) {
        if (removed[i]) continue;
        a.keep[kept++] = nms_key_index(keys[i]);
        parallel_range(a.n - i - 1, 1 << 13, [&](int64_t b, int64_t e) {
            for (int64_t j = i + 1 + b; j < i + 1 + e; ++j)
                if (!removed[j] && classes[j] == classes[i] && nms_suppresses(boxes[i], boxes[j], a.threshold)) removed[j] = 1;
        });
    }
    *a.count = kept;
}

void yolo_decode(const Exec&, DType dtype, YoloHead head, const YoloDecodeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto run = [&](auto body) {
            parallel_range(a.n * a.total, 1 << 10, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) body(i);
            });
        };
        if (head == YoloHead::v3) run(YoloDecode<T, YoloHead::v3>{a});
        else if (head == YoloHead::v5) run(YoloDecode<T, YoloHead::v5>{a});
        else run(YoloDecode<T, YoloHead::v8>{a});
    });
}

void centernet_decode_workspace(const Exec&, DType, const CenterNetArgs&, int64_t* bytes) { *bytes = 0; }

void centernet_decode(const Exec&, DType dtype, const CenterNetArgs& a) {
    const int64_t m = int64_t(a.classes) * a.height * a.width;
    std::vector<uint32_t> scores(static_cast<size_t>(a.n * m));
    std::vector<uint64_t> keys(static_cast<size_t>(m));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const CenterNetScore<T> body{a, scores.data()};
        parallel_range(a.n * m, 1 << 12, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) body(i);
        });
        for (int64_t image = 0; image < a.n; ++image) {
            for (int64_t i = 0; i < m; ++i) keys[i] = centernet_key(scores[image * m + i], i);
            std::partial_sort(keys.begin(), keys.begin() + a.k, keys.end());
            for (int32_t s = 0; s < a.k; ++s) centernet_emit<T>(a, image, s, keys[s]);
        }
    });
}

}  // namespace dk::cpu
