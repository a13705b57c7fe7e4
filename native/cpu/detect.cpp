// cpu/detect.cpp - the detection family on the cpu backend: the kernels' own box bodies
// (detect/detect_bodies.cuh) on the thread pool, and NMS as the greedy loop the GPU's mask walk
// computes: boxes in nms_key order, each box kept unless a kept box of its class has an IoU with
// it above the threshold (the same predicate as the kernel), each class on a thread; the fused
// postprocess the same way on its top_k candidates (postprocess_bodies.cuh), an image per task.
// RoIAlign from the kernels' pieces (detect/roi_align_bodies.cuh), each roi's sample taps found
// once for all its channels: the forward sums each bin's samples as the element body does; the
// backward scatters each roi into its image's planes, a task per plane (n, c) walking the rois in
// order - no two tasks write one element, and each element's terms arrive in the order the
// kernels' gather adds them in (roi, ph, pw, iy, ix, tap): the same bits.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "deepkern/dispatch.h"
#include "detect/detect.h"
#include "detect/decode_bodies.cuh"
#include "detect/detect_bodies.cuh"
#include "detect/postprocess_bodies.cuh"
#include "detect/roi_align_bodies.cuh"
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
            boxes[i] = load_box(static_cast<const T*>(a.boxes), rank_key_index(keys[i]));
            classes[i] = nms_class(a, rank_key_index(keys[i]));
        }
    });
    // Boxes of different classes never interact: the greedy walk runs within each class (its boxes
    // in the sorted order), the classes in parallel, and the kept boxes merge back in that order.
    std::vector<int64_t> by_class(size_t(a.n));
    for (int64_t i = 0; i < a.n; ++i) by_class[i] = i;
    std::stable_sort(by_class.begin(), by_class.end(), [&](int64_t x, int64_t y) { return classes[x] < classes[y]; });
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < a.n; ++i)
        if (i == 0 || classes[by_class[i]] != classes[by_class[i - 1]]) starts.push_back(i);
    starts.push_back(a.n);
    std::vector<char> kept(size_t(a.n), 0);
    parallel_range(int64_t(starts.size()) - 1, 1, [&](int64_t b, int64_t e) {
        std::vector<int64_t> survivors;
        for (int64_t c = b; c < e; ++c) {
            survivors.clear();
            for (int64_t q = starts[c]; q < starts[c + 1]; ++q) {
                const int64_t i = by_class[q];
                bool suppressed = false;
                for (const int64_t k : survivors)
                    if (nms_suppresses(boxes[k], boxes[i], a.threshold)) {
                        suppressed = true;
                        break;
                    }
                if (!suppressed) {
                    survivors.push_back(i);
                    kept[i] = 1;
                }
            }
        }
    });
    int64_t count = 0;
    for (int64_t i = 0; i < a.n; ++i)
        if (kept[i]) a.keep[count++] = rank_key_index(keys[i]);
    *a.count = count;
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
            for (int64_t i = 0; i < m; ++i) keys[i] = rank_key(scores[image * m + i], i);
            std::partial_sort(keys.begin(), keys.begin() + a.k, keys.end());
            for (int32_t s = 0; s < a.k; ++s) centernet_emit<T>(a, image, s, keys[s]);
        }
    });
}

void postprocess(const Exec&, DType dtype, const PostprocessArgs& a) {
    const int64_t pairs = a.boxes_per_image * a.classes;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range(a.n, 1, [&](int64_t b, int64_t e) {
            std::vector<uint64_t> keys;
            std::vector<Box> boxes;
            std::vector<int64_t> classes;
            std::vector<char> live;
            for (int64_t image = b; image < e; ++image) {
                keys.clear();
                for (int64_t p = 0; p < pairs; ++p)
                    if (const uint32_t key = postprocess_key<T>(a, image, p)) keys.push_back(rank_key(key, p));
                const size_t m = keys.size() < size_t(a.top_k) ? keys.size() : size_t(a.top_k);
                std::partial_sort(keys.begin(), keys.begin() + m, keys.end());
                boxes.resize(m);
                classes.resize(m);
                live.assign(m, 1);
                for (size_t s = 0; s < m; ++s) {
                    boxes[s] = postprocess_box<T>(a, image, rank_key_index(keys[s]));
                    classes[s] = postprocess_class(a, image, rank_key_index(keys[s]));
                }
                int32_t kept = 0;
                for (size_t s = 0; s < m && kept < a.max_det; ++s) {
                    if (!live[s]) continue;
                    postprocess_emit<T>(a, image, kept++, rank_key_index(keys[s]));
                    for (size_t j = s + 1; j < m; ++j)
                        if (live[j] && postprocess_suppresses(a, boxes[s], classes[s], boxes[j], classes[j])) live[j] = 0;
                }
                a.count[image] = kept;
                for (int32_t slot = kept; slot < a.max_det; ++slot) postprocess_emit<T>(a, image, slot, -1);
            }
        });
    });
}

// A roi's taps on one axis, bin by bin - bin p's samples inside [-1, size] are taps[first[p] ..
// first[p + 1]) in sample order - found once for all of its channels.
struct RoiAxisTaps {
    std::vector<RoiTap> taps;
    std::vector<size_t> first;

    void build(const RoiAxis& axis, int32_t bins, int32_t size) {
        taps.clear();
        first.assign(size_t(bins) + 1, 0);
        int32_t p0, p1;
        axis.bins(bins, -1.0f, float(size), p0, p1);
        for (int32_t p = 0; p < bins; ++p) {
            first[size_t(p)] = taps.size();
            if (p < p0 || p >= p1) continue;
            int32_t i0, i1;
            axis.samples(p, -1.0f, float(size), i0, i1);
            for (int32_t i = i0; i < i1; ++i) {
                RoiTap t;
                if (roi_tap(axis.at(p, i), size, t)) taps.push_back(t);
            }
        }
        first[size_t(bins)] = taps.size();
    }
};

// The forward by (roi, channel) pairs, each roi's taps found once per task: the element body's
// samples, values and sums (roi_bilinear, in the same order) without its per-output geometry.
void roi_align_forward(const Exec&, DType dtype, const RoiAlignArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* src = static_cast<const T*>(a.src);
        T* dst = static_cast<T*>(a.dst);
        const int64_t plane = a.height * a.width, bins = int64_t(a.out_h) * a.out_w;
        parallel_range(a.k * a.c, 16, [&](int64_t b, int64_t e) {
            RoiAxisTaps ty, tx;
            Roi r{};
            int64_t built = -1;
            for (int64_t kc = b; kc < e; ++kc) {
                const int64_t k = kc / a.c, c = kc % a.c;
                if (k != built) {
                    r = roi_of<T>(a, k);
                    ty.build(r.y, a.out_h, int32_t(a.height));
                    tx.build(r.x, a.out_w, int32_t(a.width));
                    built = k;
                }
                // no taps where the roi has no samples (batch -1): zeros
                const T* img = src + (r.batch < 0 ? 0 : (r.batch * a.c + c) * plane);
                T* out = dst + kc * bins;
                for (int32_t ph = 0; ph < a.out_h; ++ph)
                    for (int32_t pw = 0; pw < a.out_w; ++pw) {
                        float sum = 0.0f;
                        for (size_t iy = ty.first[size_t(ph)]; iy < ty.first[size_t(ph) + 1]; ++iy) {
                            const RoiTap& y = ty.taps[iy];
                            const T* lo = img + int64_t(y.low) * a.width;
                            const T* hi = img + int64_t(y.high) * a.width;
                            for (size_t ix = tx.first[size_t(pw)]; ix < tx.first[size_t(pw) + 1]; ++ix)
                                sum += roi_bilinear(lo, hi, y, tx.taps[ix]);
                        }
                        store_float(out[int64_t(ph) * a.out_w + pw], sum / r.count);
                    }
            }
        });
    });
}

// The backward: every roi's taps found once, then a task per image plane (n, c) scatters the rois
// of image n into it, roi after roi, each sample's 4 terms (roi_grad_term) in torchvision's order.
void roi_align_backward(const Exec&, DType dtype, const RoiAlignArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* src = static_cast<const T*>(a.src);
        std::vector<Roi> rois(static_cast<size_t>(a.k));
        std::vector<RoiAxisTaps> ys(static_cast<size_t>(a.k)), xs(static_cast<size_t>(a.k));
        parallel_range(a.k, 64, [&](int64_t b, int64_t e) {
            for (int64_t k = b; k < e; ++k) {
                rois[size_t(k)] = roi_of<T>(a, k);
                ys[size_t(k)].build(rois[size_t(k)].y, a.out_h, int32_t(a.height));
                xs[size_t(k)].build(rois[size_t(k)].x, a.out_w, int32_t(a.width));
            }
        });
        const int64_t plane = a.height * a.width, bins = int64_t(a.out_h) * a.out_w;
        parallel_range(a.n * a.c, 1, [&](int64_t b, int64_t e) {
            // f32 sums in place; f16 / bf16 through an f32 plane, rounded once
            std::vector<float> scratch(std::is_same_v<T, float> ? 0 : static_cast<size_t>(plane));
            for (int64_t p = b; p < e; ++p) {
                T* dst = static_cast<T*>(a.dst) + p * plane;
                float* acc;
                if constexpr (std::is_same_v<T, float>) acc = dst;
                else acc = scratch.data();
                std::fill(acc, acc + plane, 0.0f);
                const int64_t n = p / a.c, c = p % a.c;
                for (int64_t k = 0; k < a.k; ++k) {
                    const Roi& r = rois[size_t(k)];
                    if (r.batch != n) continue;
                    const RoiAxisTaps& ty = ys[size_t(k)];
                    const RoiAxisTaps& tx = xs[size_t(k)];
                    const T* grad = src + (k * a.c + c) * bins;
                    for (int32_t ph = 0; ph < a.out_h; ++ph)
                        for (int32_t pw = 0; pw < a.out_w; ++pw) {
                            const float g = load_float(grad[int64_t(ph) * a.out_w + pw]);
                            for (size_t iy = ty.first[size_t(ph)]; iy < ty.first[size_t(ph) + 1]; ++iy) {
                                const RoiTap& y = ty.taps[iy];
                                float* lo = acc + int64_t(y.low) * a.width;
                                float* hi = acc + int64_t(y.high) * a.width;
                                for (size_t ix = tx.first[size_t(pw)]; ix < tx.first[size_t(pw) + 1]; ++ix) {
                                    const RoiTap& x = tx.taps[ix];
                                    lo[x.low] += roi_grad_term(g, y.h, x.h, r.count);
                                    lo[x.high] += roi_grad_term(g, y.h, x.l, r.count);
                                    hi[x.low] += roi_grad_term(g, y.l, x.h, r.count);
                                    hi[x.high] += roi_grad_term(g, y.l, x.l, r.count);
                                }
                            }
                        }
                }
                if constexpr (!std::is_same_v<T, float>)
                    for (int64_t i = 0; i < plane; ++i) store_float(dst[i], acc[i]);
            }
        });
    });
}

}  // namespace dk::cpu
