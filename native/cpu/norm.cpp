// cpu/norm.cpp - softmax, log_softmax, layer_norm and rms_norm on the cpu
// backend: rows in chunks on the thread pool, each row in f32 passes over the row that GCC
// vectorizes (a few reads of a row that stays in cache; the ops are bound by memory traffic,
// about one read of x and one write of out, plus dy for the backwards).
//   softmax     m = max x; e = exp(x - m) written out while summed into s; out = e * (1 / s)
//   log_softmax m = max x; s = sum exp(x - m); out = (x - m) - log s
//   layer_norm  mean = sum x / n; var = sum (x - mean)^2 / n; out = (x - mean) rstd w + b
//   rms_norm    the same with mean = 0 and no bias
// (the mean from the sum of x - x[0], kept as two floats, so that a mean far from 0 against the
// spread of x costs no precision in f32)
// In-place calls (out = x, grad_x = grad_out) are allowed, so those pointers may be equal.
// The exp is our branch-free f32 one (vec_math.h). Sums cannot be vectorized as written under
// strict IEEE order, so they run in kLanes independent f32 accumulators over blocks of kBlock
// elements, and the blocks are added in f64: the lanes vectorize, and the f32 error stays that
// of a sum of kBlock / kLanes terms. The row functions are also built for AVX2 and AVX-512
// (target_clones; the library itself targets the x86-64 baseline). f16 and bf16 rows are
// converted into per-chunk f32 rows first. A row with a NaN gives NaN (it reaches the sum); a
// row whose max is -inf (all -inf, or -inf and NaN) is NaN, as 0 / 0 would make it.
// The norms' weight and bias gradients sum each chunk of rows in f64, then the chunks (no atomics).
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "deepkern/dispatch.h"
#include "thread_pool.h"
#include "deepkern/vec_math.h"
#include "norm/norm.h"

#define DK_ROW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

namespace dk::cpu {

namespace {

constexpr int kLanes = 16;        // one AVX-512 vector of f32, two AVX2 ones, four SSE ones
constexpr int64_t kBlock = 1024;  // f32 partial sums per block, blocks added in f64

// The sum over i < n of term(i) (a float), in kLanes accumulators per block.
template <class Term>
[[gnu::always_inline]] inline double lane_sum(int64_t n, Term&& term) {
    double total = 0.0;
    for (int64_t b = 0; b < n; b += kBlock) {
        const int64_t e = b + kBlock < n ? b + kBlock : n;
        float acc[kLanes] = {};
        int64_t i = b;
        for (; i + kLanes <= e; i += kLanes)
            for (int l = 0; l < kLanes; ++l) acc[l] += term(i + l);
        float tail = 0.0f;
        for (; i < e; ++i) tail += term(i);
        double block = tail;
        for (int l = 0; l < kLanes; ++l) block += acc[l];
        total += block;
    }
    return total;
}

// max over the row, NaN skipped (a NaN reaches the result through the sum instead). GCC does
// not vectorize a select-based max reduction without -ffinite-math-only, even in lanes, so the
// lanes are 16-byte vector types, which every clone lowers to maxps (wider vector types fall
// back to scalar code for the select in the default and AVX2 clones).
DK_ROW_CLONES float row_max(const float* x, int64_t n) {
    typedef float V __attribute__((vector_size(16)));
    constexpr int width = 4, vecs = kLanes / width;
    const float ninf = -std::numeric_limits<float>::infinity();
    V acc[vecs];
    for (int j = 0; j < vecs; ++j) acc[j] = V{} + ninf;
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < vecs; ++j) {
            V v;
            std::memcpy(&v, x + i + j * width, sizeof v);
            acc[j] = v > acc[j] ? v : acc[j];
        }
    float m = ninf;
    for (int j = 0; j < vecs; ++j)
        for (int l = 0; l < width; ++l) m = acc[j][l] > m ? acc[j][l] : m;
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

// e = exp(x - m) into out, returns sum e
DK_ROW_CLONES double exp_store_sum(const float* x, float m, float* out, int64_t n) {
    return lane_sum(n, [&](int64_t i) {
        const float e = exp_f32(x[i] - m);
        out[i] = e;
        return e;
    });
}

DK_ROW_CLONES double exp_sum(const float* x, float m, int64_t n) {
    return lane_sum(n, [&](int64_t i) { return exp_f32(x[i] - m); });
}

DK_ROW_CLONES void scale(float* y, float k, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] *= k;
}

DK_ROW_CLONES void shift2(const float* x, float m, float ls, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - m) - ls;
}

// sum (x - shift)
DK_ROW_CLONES double sum(const float* x, float shift, int64_t n) {
    return lane_sum(n, [&](int64_t i) { return x[i] - shift; });
}

DK_ROW_CLONES double dot(const float* a, const float* b, int64_t n) {
    return lane_sum(n, [&](int64_t i) { return a[i] * b[i]; });
}

// softmax: dx = y (g - sum g y); log_softmax: dx = g - exp(y) sum g
DK_ROW_CLONES void softmax_grad(const float* __restrict y, const float* g, float acc, bool log, float* dx,
                                int64_t n) {
    if (log)
        for (int64_t i = 0; i < n; ++i) dx[i] = g[i] - exp_f32(y[i]) * acc;
    else
        for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (g[i] - acc);
}

// The row mean as an unevaluated sum hi + lo of two floats: x - mean = (x - hi) - lo keeps
// the f32 rounding of the mean out of x - mean when |mean| is large against the spread of x.
struct Centre {
    float hi = 0.0f, lo = 0.0f;
    float of(float x) const { return (x - hi) - lo; }
};

DK_ROW_CLONES double sum_sq_dev(const float* x, Centre mean, int64_t n) {
    return lane_sum(n, [&](int64_t i) {
        const float d = mean.of(x[i]);
        return d * d;
    });
}

// out = (x - mean) rstd w + b, w and b optional
DK_ROW_CLONES void normalize(const float* x, Centre mean, float rstd, const float* __restrict w,
                             const float* __restrict b, float* out, int64_t n) {
    if (w && b)
        for (int64_t i = 0; i < n; ++i) out[i] = mean.of(x[i]) * rstd * w[i] + b[i];
    else if (w)
        for (int64_t i = 0; i < n; ++i) out[i] = mean.of(x[i]) * rstd * w[i];
    else if (b)
        for (int64_t i = 0; i < n; ++i) out[i] = mean.of(x[i]) * rstd + b[i];
    else
        for (int64_t i = 0; i < n; ++i) out[i] = mean.of(x[i]) * rstd;
}

// g = dy w into g (dy itself without weight), returns sum g and sum g xhat
DK_ROW_CLONES void grad_sums(const float* __restrict x, const float* __restrict dy, const float* __restrict w,
                             Centre mean, float rstd, float* __restrict g, int64_t n, double& sg, double& sgx) {
    if (w)
        for (int64_t i = 0; i < n; ++i) g[i] = dy[i] * w[i];
    else
        for (int64_t i = 0; i < n; ++i) g[i] = dy[i];
    sg = lane_sum(n, [&](int64_t i) { return g[i]; });
    sgx = lane_sum(n, [&](int64_t i) { return g[i] * (mean.of(x[i]) * rstd); });
}

// dx = rstd (g - mg - xhat mgx)
DK_ROW_CLONES void norm_dx(const float* __restrict x, const float* __restrict g, Centre mean, float rstd, float mg,
                           float mgx, float* __restrict dx, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dx[i] = rstd * (g[i] - mg - mean.of(x[i]) * rstd * mgx);
}

// sw += dy xhat, sb += dy, per column
DK_ROW_CLONES void param_grads(const float* __restrict x, const float* __restrict dy, Centre mean, float rstd,
                               double* __restrict sw, double* __restrict sb, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        sw[i] += double(dy[i] * (mean.of(x[i]) * rstd));
        sb[i] += double(dy[i]);
    }
}

// The dtype conversions of rows, built as clones too: the bf16 ones are shifts and vectorize
// everywhere; f16 -> f32 keeps a branch (subnormals) that GCC does not flatten.
DK_ROW_CLONES void convert(const bf16* p, float* f, int64_t n) {
    for (int64_t i = 0; i < n; ++i) f[i] = load_float(p[i]);
}

DK_ROW_CLONES void convert(const f16* p, float* f, int64_t n) {
    for (int64_t i = 0; i < n; ++i) f[i] = load_float(p[i]);
}

DK_ROW_CLONES void convert(const float* f, bf16* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) store_float(p[i], f[i]);
}

DK_ROW_CLONES void convert(const float* f, f16* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) store_float(p[i], f[i]);
}

// A row of T as f32: the row itself for f32, else converted into buf.
template <typename T>
const float* f32_row(const T* p, int64_t n, float* buf) {
    if constexpr (std::is_same_v<T, float>) {
        return p;
    } else {
        convert(p, buf, n);
        return buf;
    }
}

// Where a row of T is computed in f32: the row itself for f32, else buf, stored by store_row.
template <typename T>
float* f32_out(T* p, float* buf) {
    if constexpr (std::is_same_v<T, float>) return p;
    else return buf;
}

template <typename T>
void store_row(T* p, const float* f, int64_t n) {
    if constexpr (!std::is_same_v<T, float>) convert(f, p, n);
}

// Rows in chunks on the pool; row(r, scratch) gets `scratch_rows` f32 rows of scratch per chunk
// where T is not f32.
template <typename T, class F>
void rows_parallel(int64_t rows, int64_t cols, int scratch_rows, F&& row) {
    const int64_t grain = cols >= (1 << 14) ? 1 : (1 << 14) / (cols < 1 ? 1 : cols);
    parallel_range(rows, grain, [&](int64_t b, int64_t e) {
        std::vector<float> scratch(std::is_same_v<T, float> ? 0 : size_t(scratch_rows * cols));
        for (int64_t r = b; r < e; ++r) row(r, scratch.data());
    });
}

// A parameter vector (weight or bias) as f32, converted once per call where it is of x's dtype T
// and T is not f32 (NormArgs::params_f32: already f32).
template <typename T>
struct F32Param {
    std::vector<float> buf;
    const float* p = nullptr;
    F32Param(const void* v, int64_t n, bool f32) {
        if (!v) return;
        if (f32) {
            p = static_cast<const float*>(v);
            return;
        }
        buf.resize(std::is_same_v<T, float> ? 0 : size_t(n));
        p = f32_row(static_cast<const T*>(v), n, buf.data());
    }
};

// Element c of a parameter gradient, of x's dtype T or f32.
template <typename T>
void store_param(void* grad, bool f32, int64_t c, double v) {
    if (f32) static_cast<float*>(grad)[c] = float(v);
    else store_float(static_cast<T*>(grad)[c], float(v));
}

// mean (0 for rms) and 1 / sqrt(var + eps) of a row. The mean is taken of x - x[0], so that
// the f32 lanes add terms the size of the spread of x rather than of its mean.
void row_stats(const float* x, int64_t n, bool rms, float eps, Centre& mean, float& rstd) {
    mean = Centre{};
    if (!rms) {
        const double m = double(x[0]) + sum(x, x[0], n) / double(n);
        mean.hi = float(m);
        mean.lo = float(m - double(mean.hi));
    }
    rstd = float(1.0 / std::sqrt(sum_sq_dev(x, mean, n) / double(n) + double(eps)));
}

}  // namespace

void softmax_forward(const Exec&, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t n = a.cols;
        rows_parallel<T>(a.rows, n, 2, [&](int64_t r, float* scratch) {
            const float* x = f32_row(static_cast<const T*>(a.x) + r * n, n, scratch);
            T* orow = static_cast<T*>(a.out) + r * n;
            float* out = f32_out(orow, scratch + n);
            const float m = row_max(x, n);
            if (m == -std::numeric_limits<float>::infinity()) {
                for (int64_t c = 0; c < n; ++c) out[c] = std::numeric_limits<float>::quiet_NaN();
            } else if (a.log) {
                shift2(x, m, float(std::log(exp_sum(x, m, n))), out, n);
            } else {
                scale(out, float(1.0 / exp_store_sum(x, m, out, n)), n);
            }
            store_row(orow, out, n);
        });
    });
}

void softmax_backward(const Exec&, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t n = a.cols;
        rows_parallel<T>(a.rows, n, 3, [&](int64_t r, float* scratch) {
            const float* y = f32_row(static_cast<const T*>(a.x) + r * n, n, scratch);
            const float* g = f32_row(static_cast<const T*>(a.grad_out) + r * n, n, scratch + n);
            T* dxrow = static_cast<T*>(a.out) + r * n;
            float* dx = f32_out(dxrow, scratch + 2 * n);
            const double acc = a.log ? sum(g, 0.0f, n) : dot(g, y, n);
            softmax_grad(y, g, float(acc), a.log, dx, n);
            store_row(dxrow, dx, n);
        });
    });
}

void norm_forward(const Exec&, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t n = a.cols;
        const F32Param<T> w(a.weight, n, a.params_f32), b(a.bias, n, a.params_f32);
        rows_parallel<T>(a.rows, n, 2, [&](int64_t r, float* scratch) {
            const float* x = f32_row(static_cast<const T*>(a.x) + r * n, n, scratch);
            T* orow = static_cast<T*>(a.out) + r * n;
            float* out = f32_out(orow, scratch + n);
            Centre mean;
            float rstd;
            row_stats(x, n, a.rms, a.eps, mean, rstd);
            normalize(x, mean, rstd, w.p, b.p, out, n);
            store_row(orow, out, n);
        });
    });
}

void norm_backward(const Exec& ex, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* xt = static_cast<const T*>(a.x);
        const T* dyt = static_cast<const T*>(a.grad_out);
        const int64_t cols = a.cols;
        const F32Param<T> w(a.weight, cols, a.params_f32);
        parallel_range(a.rows, cols >= (1 << 14) ? 1 : (1 << 14) / cols, [&](int64_t rb, int64_t re) {
            // x, dy and dx for T other than f32, and g = dy w
            std::vector<float> scratch(size_t((std::is_same_v<T, float> ? 1 : 4) * cols));
            float* g = scratch.data();
            for (int64_t r = rb; r < re; ++r) {
                const float* x = f32_row(xt + r * cols, cols, g + cols);
                const float* dy = f32_row(dyt + r * cols, cols, g + 2 * cols);
                T* dxrow = static_cast<T*>(a.out) + r * cols;
                float* dx = f32_out(dxrow, g + 3 * cols);
                Centre mean;
            float rstd;
                row_stats(x, cols, a.rms, a.eps, mean, rstd);
                double sg, sgx;
                grad_sums(x, dy, w.p, mean, rstd, g, cols, sg, sgx);
                const double mg = a.rms ? 0.0 : sg / double(cols), mgx = sgx / double(cols);
                norm_dx(x, g, mean, rstd, float(mg), float(mgx), dx, cols);
                store_row(dxrow, dx, cols);
            }
        });
        if (!a.grad_weight && !a.grad_bias) return;
        const int64_t parts = bias_partial_rows(ex, a.rows);
        float* pw = a.workspace + 2 * a.rows;
        float* pb = pw + parts * cols;
        parallel_for(parts, [&](int64_t p) {
            std::vector<double> sw(size_t(cols), 0.0), sb(size_t(cols), 0.0);
            std::vector<float> scratch(std::is_same_v<T, float> ? 0 : size_t(2 * cols));
            for (int64_t r = p * a.rows / parts; r < (p + 1) * a.rows / parts; ++r) {
                const float* x = f32_row(xt + r * cols, cols, scratch.data());
                const float* dy = f32_row(dyt + r * cols, cols, scratch.data() + cols);
                Centre mean;
            float rstd;
                row_stats(x, cols, a.rms, a.eps, mean, rstd);
                param_grads(x, dy, mean, rstd, sw.data(), sb.data(), cols);
            }
            for (int64_t c = 0; c < cols; ++c) {
                pw[p * cols + c] = float(sw[size_t(c)]);
                pb[p * cols + c] = float(sb[size_t(c)]);
            }
        });
        for (int64_t c = 0; c < cols; ++c) {
            double sw = 0.0, sb = 0.0;
            for (int64_t p = 0; p < parts; ++p) {
                sw += pw[p * cols + c];
                sb += pb[p * cols + c];
            }
            if (a.grad_weight) store_param<T>(a.grad_weight, a.params_f32, c, sw);
            if (a.grad_bias) store_param<T>(a.grad_bias, a.params_f32, c, sb);
        }
    });
}

}  // namespace dk::cpu
