// norm.cu - softmax and log_softmax, layer_norm and rms_norm over the last dim, forward and backward.
//
// Every op is row-wise: one warp per row (4 rows per block of 128 threads, grid-stride over rows),
// each lane striding the row by 32 and the lanes combining with xor shuffles, so any row length
// works and no shared memory or barrier is needed. Softmax keeps an online (max, sum) per lane in
// one pass over the row and merges the pairs across lanes; then one more pass writes the output.
// The norms take the mean, then the variance around it (two f32 passes: no cancellation), then
// write. The backward of the norms recomputes the statistics from x. Their weight and bias
// gradients are column sums over rows, done without atomics: the row kernel leaves (mean, rstd)
// per row in the workspace, a 2-D kernel sums a strided set of rows per thread and the block's
// rows in shared memory into one f32 partial row per block of rows, and a last kernel adds those.
// Everything is bandwidth-bound. The forward passes of rows that fit in registers (up to 256
// 16-byte packs: 1024 f32 or 2048 bf16/f16 elements) whose rows and parameters are 16-byte
// aligned take the row once: each lane loads all its packs at once (up to 8 loads in flight per
// lane), reduces and writes from registers (RegisterRow) - 1 read + 1 write per element. Longer or
// unaligned rows stride the row per lane: 2 reads + 1 write per element (the re-read hits L2 for
// rows up to tens of kilobytes). Backward: softmax's on register rows (up to 128 packs, two rows
// held) reads y and dy once; otherwise, and for the norms, 2-3 reads + 1 write.
#include <type_traits>

#include "deepkern/portable.cuh"
#include "deepkern/packs.cuh"
#include "deepkern/column_sum.cuh"
#include "deepkern/reduce.cuh"
#include "deepkern/dispatch.h"
#include "norm/norm.h"

namespace dk {
namespace DK_BACKEND {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kRowsPerBlock = 4;  // warps per block, one row each
constexpr int kParamCols = 32, kParamRows = 8;

// Adds v to a running (max m, sum s of exp(x - m)). -inf adds nothing; NaN makes s NaN.
__device__ __forceinline__ void online_add(float& m, float& s, float v) {
    if (v > m) {
        s = s * expf(m - v) + 1.0f;  // m = -inf at first: expf(-inf) = 0
        m = v;
    } else if (v != -INFINITY) {
        s += expf(v - m);
    }
}

__device__ __forceinline__ void warp_merge(float& m, float& s) {
    for (int o = 16; o > 0; o >>= 1) {
        const float mo = __shfl_xor_sync(kFullMask, m, o), so = __shfl_xor_sync(kFullMask, s, o);
        const float mn = fmaxf(m, mo);
        s = (m == -INFINITY ? 0.0f : s * expf(m - mn)) + (mo == -INFINITY ? 0.0f : so * expf(mo - mn));
        m = mn;
    }
}

unsigned row_grid(const Exec& ex, int64_t rows) { return grid_for(ex, rows, kRowsPerBlock); }

}  // namespace

// f(r) for each row r of this warp: one warp per row, grid-stride over the rows.
template <class F>
__device__ __forceinline__ void for_warp_rows(int64_t rows, F&& f) {
    const int64_t step = int64_t(gridDim.x) * kRowsPerBlock;
    for (int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32; r < rows; r += step) f(r);
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
    return v;
}

// Up to 32 * N 16-byte packs of a row, in registers: lane l holds packs l, l + 32, ... (V elements
// each, as f32), loaded together. The row's length is a multiple of V; packs past it are absent.
template <typename T, int N>
struct RegisterRow {
    static constexpr int V = Pack16<T>::size;
    Floats<V> p[N];
    int64_t cols;
    int lane;

    __device__ __forceinline__ explicit RegisterRow(int64_t row_cols) : cols(row_cols), lane(int(threadIdx.x) % 32) {}

    __device__ __forceinline__ int64_t col(int j) const { return (int64_t(lane) + 32 * j) * V; }
    __device__ __forceinline__ bool has(int j) const { return col(j) < cols; }

    __device__ __forceinline__ void load_row(const T* xr) {
        DK_UNROLL
        for (int j = 0; j < N; ++j) p[j] = has(j) ? load<V>(xr + col(j)) : Floats<V>{};
    }
    // f(value, column) for every element present, in place.
    template <class F>
    __device__ __forceinline__ void each(F&& f) {
        DK_UNROLL
        for (int j = 0; j < N; ++j)
            if (has(j)) {
                DK_UNROLL
                for (int k = 0; k < V; ++k) f(p[j].v[k], col(j) + k);
            }
    }
    __device__ __forceinline__ void store_row(T* orow) const {
        DK_UNROLL
        for (int j = 0; j < N; ++j)
            if (has(j)) store<V>(orow + col(j), p[j]);
    }
};

// The register rows' pack counts: calls f(IntTag<N>) with the smallest N in {1, 2, 4, 8} (at most
// MaxN) whose 32 * N packs hold the row, and returns false (f not called) when the row is too long
// or the pointers are not 16-byte aligned, or the row not a whole number of packs.
template <typename T, int MaxN = 8, class F>
bool dispatch_register_row(int64_t cols, std::initializer_list<const void*> ptrs, F&& f) {
    constexpr int V = Pack16<T>::size;
    if (!packable<T>(cols, ptrs)) return false;
    const int64_t packs = cols / V;
    if (packs <= 32) f(std::integral_constant<int, 1>{});
    else if (packs <= 64) f(std::integral_constant<int, 2>{});
    else if (packs <= 128 && MaxN >= 4) f(std::integral_constant<int, 4>{});
    else if (packs <= 256 && MaxN >= 8) f(std::integral_constant<int, 8>{});
    else return false;
    return true;
}

template <typename T>
__global__ void softmax_forward_kernel(const T* x, T* out, int64_t rows, int64_t cols, bool log) {
    const int lane = threadIdx.x % 32;
    for_warp_rows(rows, [&](int64_t r) {
        const T* xr = x + r * cols;
        T* orow = out + r * cols;
        float m = -INFINITY, s = 0.0f;
        // unrolled: eight loads per lane in flight, not one
        DK_UNROLL_BY(8)
        for (int64_t c = lane; c < cols; c += 32) online_add(m, s, load_float(xr[c]));
        warp_merge(m, s);
        if (log) {
            const float log_s = logf(s);
            DK_UNROLL_BY(8)
            for (int64_t c = lane; c < cols; c += 32) store_float(orow[c], (load_float(xr[c]) - m) - log_s);
        } else {
            const float inv = 1.0f / s;
            DK_UNROLL_BY(8)
            for (int64_t c = lane; c < cols; c += 32) store_float(orow[c], expf(load_float(xr[c]) - m) * inv);
        }
    });
}

template <typename T, int N, bool Log>
__global__ void softmax_forward_rows_kernel(const T* x, T* out, int64_t rows, int64_t cols) {
    RegisterRow<T, N> row(cols);
    for_warp_rows(rows, [&](int64_t r) {
        row.load_row(x + r * cols);
        float m = -INFINITY;
        row.each([&](float& v, int64_t) { m = fmaxf(m, v); });
        m = warp_max(m);
        // an all -inf row: exp(-inf - -inf) is NaN, as torch gives. softmax keeps each exp in
        // place (one exp per element); log_softmax keeps x.
        float s = 0.0f;
        if constexpr (Log) {
            row.each([&](float& v, int64_t) { s += expf(v - m); });
            const float log_s = logf(warp_sum(s));
            row.each([&](float& v, int64_t) { v = (v - m) - log_s; });
        } else {
            row.each([&](float& v, int64_t) {
                v = expf(v - m);
                s += v;
            });
            const float inv = 1.0f / warp_sum(s);
            row.each([&](float& v, int64_t) { v *= inv; });
        }
        row.store_row(out + r * cols);
    });
}

// dx = y (dy - sum(dy y)), or for log_softmax dy - exp(y) sum(dy): y and dy read once, in registers.
template <typename T, int N, bool Log>
__global__ void softmax_backward_rows_kernel(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols) {
    constexpr int V = Pack16<T>::size;
    RegisterRow<T, N> yr(cols), gr(cols);
    for_warp_rows(rows, [&](int64_t r) {
        yr.load_row(y + r * cols);
        gr.load_row(dy + r * cols);
        float acc = 0.0f;
        DK_UNROLL
        for (int j = 0; j < N; ++j)
            DK_UNROLL
            for (int k = 0; k < V; ++k) acc += Log ? gr.p[j].v[k] : gr.p[j].v[k] * yr.p[j].v[k];  // absent packs are 0
        acc = warp_sum(acc);
        DK_UNROLL
        for (int j = 0; j < N; ++j)
            DK_UNROLL
            for (int k = 0; k < V; ++k) {
                const float v = yr.p[j].v[k], g = gr.p[j].v[k];
                gr.p[j].v[k] = Log ? g - expf(v) * acc : v * (g - acc);
            }
        gr.store_row(dx + r * cols);
    });
}

template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols, bool log) {
    const int lane = threadIdx.x % 32;
    for_warp_rows(rows, [&](int64_t r) {
        const int64_t base = r * cols;
        float acc = 0.0f;
        for (int64_t c = lane; c < cols; c += 32) {
            const float g = load_float(dy[base + c]);
            acc += log ? g : g * load_float(y[base + c]);
        }
        acc = warp_sum(acc);
        for (int64_t c = lane; c < cols; c += 32) {
            const float g = load_float(dy[base + c]), v = load_float(y[base + c]);
            store_float(dx[base + c], log ? g - expf(v) * acc : v * (g - acc));
        }
    });
}

// The row's mean (0 for rms_norm) and 1 / sqrt(var + eps), var = mean of (x - mean)^2.
template <typename T>
__device__ __forceinline__ void row_stats(const T* xr, int64_t cols, bool rms, float eps, int lane, float& mean,
                                          float& rstd) {
    mean = 0.0f;
    if (!rms) {
        float s = 0.0f;
        for (int64_t c = lane; c < cols; c += 32) s += load_float(xr[c]);
        mean = warp_sum(s) / float(cols);
    }
    float q = 0.0f;
    for (int64_t c = lane; c < cols; c += 32) {
        const float d = load_float(xr[c]) - mean;
        q += d * d;
    }
    rstd = 1.0f / sqrtf(warp_sum(q) / float(cols) + eps);
}

// P: the parameters' element type (T, or f32 under NormArgs::params_f32).
template <typename T, typename P>
__global__ void norm_forward_kernel(const T* x, const P* weight, const P* bias, T* out, int64_t rows,
                                    int64_t cols, float eps, bool rms) {
    const int lane = threadIdx.x % 32;
    for_warp_rows(rows, [&](int64_t r) {
        const T* xr = x + r * cols;
        float mean, rstd;
        row_stats(xr, cols, rms, eps, lane, mean, rstd);
        for (int64_t c = lane; c < cols; c += 32) {
            float v = (load_float(xr[c]) - mean) * rstd;
            if (weight) v *= load_float(weight[c]);
            if (bias) v += load_float(bias[c]);
            store_float(out[r * cols + c], v);
        }
    });
}

template <typename T, typename P, int N>
__global__ void norm_forward_rows_kernel(const T* x, const P* weight, const P* bias, T* out, int64_t rows,
                                         int64_t cols, float eps, bool rms) {
    constexpr int V = Pack16<T>::size;
    RegisterRow<T, N> row(cols);
    for_warp_rows(rows, [&](int64_t r) {
        row.load_row(x + r * cols);
        float mean = 0.0f;
        if (!rms) {
            float s = 0.0f;
            row.each([&](float& v, int64_t) { s += v; });
            mean = warp_sum(s) / float(cols);
        }
        float q = 0.0f;
        row.each([&](float& v, int64_t) { q += (v - mean) * (v - mean); });
        const float rstd = 1.0f / sqrtf(warp_sum(q) / float(cols) + eps);
        DK_UNROLL
        for (int j = 0; j < N; ++j) {
            if (!row.has(j)) continue;
            const int64_t c = row.col(j);
            Floats<V> w, b;
            if (weight) w = load<V>(weight + c);
            if (bias) b = load<V>(bias + c);
            DK_UNROLL
            for (int k = 0; k < V; ++k) {
                float v = (row.p[j].v[k] - mean) * rstd;
                if (weight) v *= w.v[k];
                if (bias) v += b.v[k];
                row.p[j].v[k] = v;
            }
        }
        row.store_row(out + r * cols);
    });
}

// dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy * weight (rms_norm: without the mean(g) term).
template <typename T, typename P>
__global__ void norm_backward_kernel(const T* __restrict__ x, const P* __restrict__ weight,
                                     const T* __restrict__ dy, T* __restrict__ dx, float* __restrict__ stats,
                                     int64_t rows, int64_t cols, float eps, bool rms) {
    const int lane = threadIdx.x % 32;
    for_warp_rows(rows, [&](int64_t r) {
        const int64_t base = r * cols;
        float mean, rstd;
        row_stats(x + base, cols, rms, eps, lane, mean, rstd);
        if (stats && lane == 0) {
            stats[2 * r] = mean;
            stats[2 * r + 1] = rstd;
        }
        float sg = 0.0f, sgx = 0.0f;
        for (int64_t c = lane; c < cols; c += 32) {
            const float g = load_float(dy[base + c]) * (weight ? load_float(weight[c]) : 1.0f);
            sg += g;
            sgx += g * (load_float(x[base + c]) - mean) * rstd;
        }
        const float mg = rms ? 0.0f : warp_sum(sg) / float(cols);
        const float mgx = warp_sum(sgx) / float(cols);
        for (int64_t c = lane; c < cols; c += 32) {
            const float g = load_float(dy[base + c]) * (weight ? load_float(weight[c]) : 1.0f);
            const float xhat = (load_float(x[base + c]) - mean) * rstd;
            store_float(dx[base + c], rstd * (g - mg - xhat * mgx));
        }
    });
}

// Partial column sums of dy * xhat (into pw) and dy (into pb, when not null) over the rows
// blockIdx.y * kParamRows + ty + k * gridDim.y * kParamRows: one f32 row per blockIdx.y.
template <typename T>
__global__ void norm_param_partials_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                           const float* __restrict__ stats, int64_t rows, int64_t cols,
                                           float* __restrict__ pw, float* __restrict__ pb) {
    DK_SHARED(float, sw, [kParamRows][kParamCols]);
    DK_SHARED(float, sb, [kParamRows][kParamCols]);
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t col = int64_t(blockIdx.x) * kParamCols + tx;
    float aw = 0.0f, ab = 0.0f;
    if (col < cols) {
        for (int64_t r = int64_t(blockIdx.y) * kParamRows + ty; r < rows; r += int64_t(gridDim.y) * kParamRows) {
            const float g = load_float(dy[r * cols + col]);
            aw += g * (load_float(x[r * cols + col]) - stats[2 * r]) * stats[2 * r + 1];
            ab += g;
        }
    }
    sw[ty][tx] = aw;
    sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && col < cols) {
        float w = 0.0f, b = 0.0f;
        for (int y = 0; y < kParamRows; ++y) {
            w += sw[y][tx];
            b += sb[y][tx];
        }
        pw[int64_t(blockIdx.y) * cols + col] = w;
        if (pb) pb[int64_t(blockIdx.y) * cols + col] = b;
    }
}

void softmax_forward(const Exec& ex, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto x = static_cast<const T*>(a.x);
        const auto out = static_cast<T*>(a.out);
        const dim3 grid(row_grid(ex, a.rows)), block(32 * kRowsPerBlock);
        if (!dispatch_register_row<T>(a.cols, {x, out}, [&](auto n) {
                dispatch_bool(a.log, [&](auto log) {
                    launch(ex, "softmax_forward", softmax_forward_rows_kernel<T, decltype(n)::value, decltype(log)::value>, grid, block, 0, x,
                           out, a.rows, a.cols);
                });
            }))
            launch(ex, "softmax_forward", softmax_forward_kernel<T>, grid, block, 0, x, out, a.rows, a.cols, a.log);
    });
}

void softmax_backward(const Exec& ex, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto y = static_cast<const T*>(a.x), dy = static_cast<const T*>(a.grad_out);
        const auto dx = static_cast<T*>(a.out);
        const dim3 grid(row_grid(ex, a.rows)), block(32 * kRowsPerBlock);
        // two rows in registers: at most 4 packs per lane each
        if (!dispatch_register_row<T, 4>(a.cols, {y, dy, dx}, [&](auto n) {
                dispatch_bool(a.log, [&](auto log) {
                    launch(ex, "softmax_backward", softmax_backward_rows_kernel<T, decltype(n)::value, decltype(log)::value>, grid, block, 0,
                           y, dy, dx, a.rows, a.cols);
                });
            }))
            launch(ex, "softmax_backward", softmax_backward_kernel<T>, grid, block, 0, y, dy, dx, a.rows, a.cols, a.log);
    });
}

// f(TypeTag<T>{}, TypeTag<P>{}): x's element type and the parameters'.
template <class F>
void dispatch_norm(DType dtype, const NormArgs& a, F&& f) {
    dispatch_floating(dtype, [&](auto tag) {
        if (a.params_f32) f(tag, TypeTag<float>{});
        else f(tag, tag);
    });
}

void norm_forward(const Exec& ex, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_norm(dtype, a, [&](auto tag, auto param_tag) {
        using T = typename decltype(tag)::type;
        using P = typename decltype(param_tag)::type;
        const auto x = static_cast<const T*>(a.x);
        const auto w = static_cast<const P*>(a.weight), b = static_cast<const P*>(a.bias);
        const auto out = static_cast<T*>(a.out);
        const char* name = a.rms ? "rms_norm_forward" : "layer_norm_forward";
        const dim3 grid(row_grid(ex, a.rows)), block(32 * kRowsPerBlock);
        if (!dispatch_register_row<T>(a.cols, {x, out, w, b}, [&](auto n) {
                launch(ex, name, norm_forward_rows_kernel<T, P, decltype(n)::value>, grid, block, 0, x, w, b, out,
                       a.rows, a.cols, a.eps, a.rms);
            }))
            launch(ex, name, norm_forward_kernel<T, P>, grid, block, 0, x, w, b, out, a.rows, a.cols, a.eps, a.rms);
    });
}

void norm_backward(const Exec& ex, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_norm(dtype, a, [&](auto tag, auto param_tag) {
        using T = typename decltype(tag)::type;
        using P = typename decltype(param_tag)::type;
        const bool params = a.grad_weight || a.grad_bias;
        float* stats = params ? a.workspace : nullptr;
        launch(ex, a.rms ? "rms_norm_backward" : "layer_norm_backward", norm_backward_kernel<T, P>,
               dim3(row_grid(ex, a.rows)), dim3(32 * kRowsPerBlock), 0, static_cast<const T*>(a.x),
               static_cast<const P*>(a.weight), static_cast<const T*>(a.grad_out), static_cast<T*>(a.out), stats,
               a.rows, a.cols, a.eps, a.rms);
        if (!params) return;
        const int64_t parts = bias_partial_rows(ex, a.rows);
        float* pw = a.workspace + 2 * a.rows;
        float* pb = a.grad_bias ? pw + parts * a.cols : nullptr;
        launch(ex, "norm_param_partials", norm_param_partials_kernel<T>,
               dim3(unsigned((a.cols + kParamCols - 1) / kParamCols), unsigned(parts)), dim3(kParamCols, kParamRows),
               0, static_cast<const T*>(a.x), static_cast<const T*>(a.grad_out), static_cast<const float*>(stats),
               a.rows, a.cols, pw, pb);
        const dim3 grid(grid_for(ex, a.cols, 256));
        if (a.grad_weight)
            launch(ex, "norm_weight_grad_sum", column_sum_kernel<P>, grid, dim3(256), 0,
                   static_cast<const float*>(pw), parts, a.cols, static_cast<P*>(a.grad_weight));
        if (a.grad_bias)
            launch(ex, "norm_bias_grad_sum", column_sum_kernel<P>, grid, dim3(256), 0,
                   static_cast<const float*>(pb), parts, a.cols, static_cast<P*>(a.grad_bias));
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
