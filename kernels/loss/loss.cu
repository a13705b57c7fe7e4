// loss.cu - the losses as fused kernels. Element-wise losses and the focal loss read input and
// target once: unreduced, one pass writes each element's loss (or gradient); reduced, a chunk pass
// sums fixed chunks of kLossChunk items in fixed lanes (loss/loss_bodies.cuh) into per-chunk
// partials, and one block sums the partials in the same fixed order and writes the scalar - no
// atomics, so the bits never depend on the grid or the schedule. Cross-entropy gives each row to a
// warp: a max pass, then a pass summing exp(x - max) and x - max (label smoothing), combined with
// butterfly shuffles, then the row's loss (or, backward, a third pass writing softmax - target).
// Its reductions run the chunk pass over the row losses. Backward of a mean (cross-entropy) or
// per-positive (focal) loss first counts the divisor with the same chunk and final passes.
// Traffic: the inputs read once per pass (the logits 2x forward, 3x backward), outputs written once.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/walk.cuh"
#include "loss/loss.h"
#include "loss/loss_bodies.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {

constexpr int kCeRowsPerBlock = 8;  // 256 threads

// The workspace: per-chunk counts (i64) and the total count, per-chunk sums (f32), and for a
// reduced cross-entropy forward its row losses (f32).
struct LossWorkspace {
    int64_t* counts;
    int64_t* total;
    float* sums;
    float* rows;
    int64_t chunks;

    static int64_t bytes(const LossArgs& a, bool rows) {
        const int64_t chunks = (a.n + kLossChunk - 1) / kLossChunk;
        return 8 * (chunks + 1) + 4 * chunks + 16 + (rows ? 4 * a.n : 0);
    }
    static LossWorkspace of(const LossArgs& a) {
        LossWorkspace w;
        w.chunks = (a.n + kLossChunk - 1) / kLossChunk;
        char* p = static_cast<char*>(a.workspace);
        w.counts = reinterpret_cast<int64_t*>(p);
        w.total = w.counts + w.chunks;
        w.sums = reinterpret_cast<float*>(w.total + 1);
        const uintptr_t r = reinterpret_cast<uintptr_t>(w.sums + w.chunks);
        w.rows = reinterpret_cast<float*>((r + 15) & ~uintptr_t(15));
        return w;
    }
};

// The halving tree over kLossLanes lanes in shared memory; every thread calls it, thread 0's
// (sum, count) is the block's.
__device__ __forceinline__ void lane_tree(float* sums, int64_t* counts) {
    const int tid = threadIdx.x;
    for (int half = kLossLanes / 2; half > 0; half /= 2) {
        __syncthreads();
        if (tid < half) {
            sums[tid] = sums[tid] + sums[tid + half];
            counts[tid] = counts[tid] + counts[tid + half];
        }
    }
    __syncthreads();
}

template <typename T, typename I>
__global__ void loss_chunk_kernel(LossArgs a, const float* rows, bool values, float* sums, int64_t* counts,
                                  int64_t chunks) {
    DK_SHARED(float, lane_sums, [kLossLanes]);
    DK_SHARED(int64_t, lane_counts, [kLossLanes]);
    const int tid = threadIdx.x;
    for (int64_t k = blockIdx.x; k < chunks; k += gridDim.x) {
        float s;
        int64_t c;
        loss_lane<T, I>(a, rows, values, k, tid, s, c);
        lane_sums[tid] = s;
        lane_counts[tid] = c;
        lane_tree(lane_sums, lane_counts);
        if (tid == 0) {
            sums[k] = lane_sums[0];
            counts[k] = lane_counts[0];
        }
    }
}

// One block: the partials summed; forward writes the reduced loss to a.out, backward the count.
template <typename T>
__global__ void loss_final_kernel(LossArgs a, const float* sums, const int64_t* counts, int64_t chunks,
                                  int64_t* total, bool forward) {
    DK_SHARED(float, lane_sums, [kLossLanes]);
    DK_SHARED(int64_t, lane_counts, [kLossLanes]);
    const int tid = threadIdx.x;
    float s;
    int64_t c;
    loss_final_lane(sums, counts, chunks, tid, s, c);
    lane_sums[tid] = s;
    lane_counts[tid] = c;
    lane_tree(lane_sums, lane_counts);
    if (tid == 0) {
        if (forward) store_float(static_cast<T*>(a.out)[0], loss_reduced(a.reduction, lane_sums[0], lane_counts[0]));
        else *total = lane_counts[0];
    }
}

// Unreduced forward (loss per element) or backward (gradient per element).
template <typename T>
struct ElementLoss {
    LossArgs a;
    const int64_t* total;  // backward of a mean / per-positive loss: the count; else null

    DK_HD void forward(int64_t i) const { store_float(static_cast<T*>(a.out)[i], loss_value<T>(a, nullptr, i)); }
    DK_HD void backward(int64_t i) const {
        float scale = 1.0f;
        if (a.reduction != LossReduction::none) scale = loss_grad_scale<T>(a, total ? *total : a.n);
        store_float(static_cast<T*>(a.out)[i], element_gradient<T>(a, scale, i));
    }
};

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float warp_add(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Mode 0: the row losses in T to a.out (none); 1: in f32 to rows (reduced); 2: the gradient to a.out.
template <typename T, typename I, int Mode>
__global__ void cross_entropy_kernel(LossArgs a, float* rows, const int64_t* total) {
    const int lane = threadIdx.x % 32;
    const int64_t first = int64_t(blockIdx.x) * kCeRowsPerBlock + threadIdx.x / 32;
    const T* x = static_cast<const T*>(a.input);
    float scale = 1.0f;
    if (Mode == 2 && a.reduction != LossReduction::none) scale = loss_grad_scale<T>(a, total ? *total : a.n);
    for (int64_t r = first; r < a.n; r += int64_t(gridDim.x) * kCeRowsPerBlock) {
        const int64_t base = ce_row_base(a, r);
        const int64_t y = ce_class<I>(a, r);
        const float m = warp_max(ce_lane_max<T>(a, base, lane));
        float se, sx;
        ce_lane_sums<T>(a, base, lane, m, se, sx);
        se = warp_add(se);
        sx = warp_add(sx);
        if (Mode == 2) {
            const float g = a.reduction == LossReduction::none ? load_float(static_cast<const T*>(a.grad_out)[r]) : scale;
            const float inv_se = 1.0f / se;
            for (int64_t c = lane; c < a.classes; c += 32) {
                const int64_t at = base + c * a.inner;
                store_float(static_cast<T*>(a.out)[at], ce_grad(a, y, c, load_float(x[at]), m, inv_se, g));
            }
        } else if (lane == 0) {
            const float xy = y >= 0 ? load_float(x[base + y * a.inner]) : 0.0f;
            const float loss = ce_row_loss(a, y, m, se, sx, xy);
            if (Mode == 0) store_float(static_cast<T*>(a.out)[r], loss);
            else rows[r] = loss;
        }
    }
}

template <class F>
void dispatch_target(const LossArgs& a, F&& f) {
    if (a.kind == LossKind::cross_entropy && !a.target_i64) f(TypeTag<int32_t>{});
    else f(TypeTag<int64_t>{});
}

template <typename T, typename I>
void sum_chunks(const Exec& ex, const LossArgs& a, const LossWorkspace& w, const float* rows, bool values) {
    if (w.chunks > 0)
        launch(ex, "loss_chunks", loss_chunk_kernel<T, I>, dim3(grid_for(ex, w.chunks, 1, 4)), dim3(kLossLanes), 0, a,
               rows, values, w.sums, w.counts, w.chunks);
    launch(ex, "loss_final", loss_final_kernel<T>, dim3(1), dim3(kLossLanes), 0, a, static_cast<const float*>(w.sums),
           static_cast<const int64_t*>(w.counts), w.chunks, w.total, values);
}

template <typename T, typename I, int Mode>
void cross_entropy_rows(const Exec& ex, const LossArgs& a, float* rows, const int64_t* total) {
    if (a.n == 0) return;
    launch(ex, "cross_entropy", cross_entropy_kernel<T, I, Mode>,
           dim3(grid_for(ex, (a.n + kCeRowsPerBlock - 1) / kCeRowsPerBlock, 1, 8)), dim3(32 * kCeRowsPerBlock), 0, a,
           rows, total);
}

bool needs_count(const LossArgs& a) {
    return (a.kind == LossKind::cross_entropy && a.reduction == LossReduction::mean) ||
           a.reduction == LossReduction::per_positive;
}

}  // namespace

void loss_forward_workspace(const Exec&, DType, const LossArgs& a, int64_t* bytes) {
    *bytes = a.reduction == LossReduction::none ? 0 : LossWorkspace::bytes(a, a.kind == LossKind::cross_entropy);
}

void loss_forward(const Exec& ex, DType dtype, const LossArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_target(a, [&](auto itag) {
            using I = typename decltype(itag)::type;
            if (a.reduction == LossReduction::none) {
                if (a.kind == LossKind::cross_entropy) cross_entropy_rows<T, I, 0>(ex, a, nullptr, nullptr);
                else each_element<false>(ex, "loss_elements", ElementLoss<T>{a, nullptr}, a.n);
                return;
            }
            const LossWorkspace w = LossWorkspace::of(a);
            if (a.kind == LossKind::cross_entropy) cross_entropy_rows<T, I, 1>(ex, a, w.rows, nullptr);
            sum_chunks<T, I>(ex, a, w, w.rows, true);
        });
    });
}

void loss_backward_workspace(const Exec&, DType, const LossArgs& a, int64_t* bytes) {
    *bytes = needs_count(a) ? LossWorkspace::bytes(a, false) : 0;
}

void loss_backward(const Exec& ex, DType dtype, const LossArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_target(a, [&](auto itag) {
            using I = typename decltype(itag)::type;
            const int64_t* total = nullptr;
            if (needs_count(a)) {
                const LossWorkspace w = LossWorkspace::of(a);
                sum_chunks<T, I>(ex, a, w, nullptr, false);
                total = w.total;
            }
            if (a.kind == LossKind::cross_entropy) cross_entropy_rows<T, I, 2>(ex, a, nullptr, total);
            else each_element<true>(ex, "loss_elements_backward", ElementLoss<T>{a, total}, a.n);
        });
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
