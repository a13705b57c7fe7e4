// cpu/loss.cpp - the losses on the cpu backend with the kernels' own bodies and summation order
// (loss/loss_bodies.cuh): a reduction's chunks spread over the thread pool, each summed in the
// kernels' lanes and halving tree, then the partials the same way; a cross-entropy row's 32 lanes
// combined as the kernel's butterfly shuffles combine them. So cpu and emu give the same bits, on
// any number of threads.
#include <vector>

#include "deepkern/dispatch.h"
#include "loss/loss.h"
#include "loss/loss_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

namespace {

// The kernels' halving tree over n lanes (n a power of 2): lane 0's sum.
template <typename V>
V halving_tree(V* v, int n) {
    for (int half = n / 2; half > 0; half /= 2)
        for (int t = 0; t < half; ++t) v[t] = v[t] + v[t + half];
    return v[0];
}

struct Totals {
    float sum;
    int64_t count;
};

template <typename T, typename I>
Totals sum_chunks(const LossArgs& a, const float* rows, bool values) {
    const int64_t chunks = (a.n + kLossChunk - 1) / kLossChunk;
    std::vector<float> sums(static_cast<size_t>(chunks));
    std::vector<int64_t> counts(static_cast<size_t>(chunks));
    parallel_range(chunks, 1, [&](int64_t b, int64_t e) {
        float s[kLossLanes];
        int64_t c[kLossLanes];
        for (int64_t k = b; k < e; ++k) {
            for (int l = 0; l < kLossLanes; ++l) loss_lane<T, I>(a, rows, values, k, l, s[l], c[l]);
            sums[size_t(k)] = halving_tree(s, kLossLanes);
            counts[size_t(k)] = halving_tree(c, kLossLanes);
        }
    });
    float s[kLossLanes];
    int64_t c[kLossLanes];
    for (int l = 0; l < kLossLanes; ++l) loss_final_lane(sums.data(), counts.data(), chunks, l, s[l], c[l]);
    return {halving_tree(s, kLossLanes), halving_tree(c, kLossLanes)};
}

struct RowStats {
    float m, se, sx;
};

template <typename T>
RowStats ce_stats(const LossArgs& a, int64_t base) {
    float m = -INFINITY;
    for (int l = 0; l < kCeLanes; ++l) m = fmaxf(m, ce_lane_max<T>(a, base, l));
    float se[kCeLanes], sx[kCeLanes];
    for (int l = 0; l < kCeLanes; ++l) ce_lane_sums<T>(a, base, l, m, se[l], sx[l]);
    return {m, halving_tree(se, kCeLanes), halving_tree(sx, kCeLanes)};
}

// Row losses: into out (T) when rows is null, else into rows (f32).
template <typename T, typename I>
void ce_forward_rows(const LossArgs& a, float* rows) {
    const T* x = static_cast<const T*>(a.input);
    parallel_range(a.n, 1 + (1 << 14) / (a.classes + 1), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const int64_t base = ce_row_base(a, r);
            const int64_t y = ce_class<I>(a, r);
            const RowStats s = ce_stats<T>(a, base);
            const float xy = y >= 0 ? load_float(x[base + y * a.inner]) : 0.0f;
            const float loss = ce_row_loss(a, y, s.m, s.se, s.sx, xy);
            if (rows) rows[r] = loss;
            else store_float(static_cast<T*>(a.out)[r], loss);
        }
    });
}

template <class F>
void dispatch_target(const LossArgs& a, F&& f) {
    if (a.kind == LossKind::cross_entropy && !a.target_i64) f(TypeTag<int32_t>{});
    else f(TypeTag<int64_t>{});
}

bool needs_count(const LossArgs& a) {
    return (a.kind == LossKind::cross_entropy && a.reduction == LossReduction::mean) ||
           a.reduction == LossReduction::per_positive;
}

}  // namespace

void loss_forward_workspace(const Exec&, DType, const LossArgs&, int64_t* bytes) { *bytes = 0; }

void loss_forward(const Exec&, DType dtype, const LossArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_target(a, [&](auto itag) {
            using I = typename decltype(itag)::type;
            if (a.reduction == LossReduction::none) {
                if (a.kind == LossKind::cross_entropy) {
                    ce_forward_rows<T, I>(a, nullptr);
                } else {
                    parallel_range(a.n, 1 << 12, [&](int64_t b, int64_t e) {
                        for (int64_t i = b; i < e; ++i) store_float(static_cast<T*>(a.out)[i], loss_value<T>(a, nullptr, i));
                    });
                }
                return;
            }
            std::vector<float> rows;
            if (a.kind == LossKind::cross_entropy) {
                rows.resize(size_t(a.n));
                ce_forward_rows<T, I>(a, rows.data());
            }
            const Totals t = sum_chunks<T, I>(a, rows.data(), true);
            store_float(static_cast<T*>(a.out)[0], loss_reduced(a.reduction, t.sum, t.count));
        });
    });
}

void loss_backward_workspace(const Exec&, DType, const LossArgs&, int64_t* bytes) { *bytes = 0; }

void loss_backward(const Exec&, DType dtype, const LossArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_target(a, [&](auto itag) {
            using I = typename decltype(itag)::type;
            const int64_t count = needs_count(a) ? sum_chunks<T, I>(a, nullptr, false).count : a.n;
            const float scale = a.reduction == LossReduction::none ? 1.0f : loss_grad_scale<T>(a, count);
            T* out = static_cast<T*>(a.out);
            if (a.kind != LossKind::cross_entropy) {
                parallel_range(a.n, 1 << 12, [&](int64_t b, int64_t e) {
                    for (int64_t i = b; i < e; ++i) store_float(out[i], element_gradient<T>(a, scale, i));
                });
                return;
            }
            const T* x = static_cast<const T*>(a.input);
            parallel_range(a.n, 1 + (1 << 14) / (a.classes + 1), [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                    const int64_t base = ce_row_base(a, r);
                    const int64_t y = ce_class<I>(a, r);
                    const RowStats s = ce_stats<T>(a, base);
                    const float g = a.reduction == LossReduction::none ? load_float(static_cast<const T*>(a.grad_out)[r]) : scale;
                    const float inv_se = 1.0f / s.se;
                    for (int64_t c = 0; c < a.classes; ++c) {
                        const int64_t at = base + c * a.inner;
                        store_float(out[at], ce_grad(a, y, c, load_float(x[at]), s.m, inv_se, g));
                    }
                }
            });
        });
    });
}

}  // namespace dk::cpu
