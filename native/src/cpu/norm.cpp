// cpu/norm.cpp - softmax, log_softmax, layer_norm, rms_norm and the rotary embedding on the cpu
// backend: rows in chunks on the thread pool, each row in plain loops with f64 statistics. The
// norms' weight and bias gradients sum each chunk of rows in f64, then the chunks (no atomics).
// The rotary embedding uses the kernels' own pair body (deepkern/rope_bodies.cuh).
#include <cmath>
#include <limits>
#include <vector>

#include "deepkern/dispatch.h"
#include "deepkern/rope_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

namespace {

template <class F>
void rows_parallel(int64_t rows, int64_t cols, F&& row) {
    const int64_t grain = cols >= (1 << 14) ? 1 : (1 << 14) / (cols < 1 ? 1 : cols);
    parallel_range(rows, grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) row(r);
    });
}

template <typename T>
void row_stats(const T* xr, int64_t cols, bool rms, float eps, double& mean, double& rstd) {
    mean = 0.0;
    if (!rms) {
        for (int64_t c = 0; c < cols; ++c) mean += load_float(xr[c]);
        mean /= double(cols);
    }
    double q = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
        const double d = load_float(xr[c]) - mean;
        q += d * d;
    }
    rstd = 1.0 / std::sqrt(q / double(cols) + double(eps));
}

}  // namespace

void softmax_forward(const Exec&, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* x = static_cast<const T*>(a.x);
        T* out = static_cast<T*>(a.out);
        rows_parallel(a.rows, a.cols, [&](int64_t r) {
            const T* xr = x + r * a.cols;
            T* orow = out + r * a.cols;
            float m = -std::numeric_limits<float>::infinity();
            bool nan = false;
            for (int64_t c = 0; c < a.cols; ++c) {
                const float v = load_float(xr[c]);
                nan |= v != v;
                if (v > m) m = v;
            }
            double s = 0.0;
            if (nan) s = std::numeric_limits<double>::quiet_NaN();
            else if (m != -std::numeric_limits<float>::infinity())
                for (int64_t c = 0; c < a.cols; ++c) s += std::exp(double(load_float(xr[c])) - m);
            const double log_s = std::log(s);
            for (int64_t c = 0; c < a.cols; ++c) {
                const double d = double(load_float(xr[c])) - m;
                store_float(orow[c], float(a.log ? d - log_s : std::exp(d) / s));
            }
        });
    });
}

void softmax_backward(const Exec&, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* y = static_cast<const T*>(a.x);
        const T* dy = static_cast<const T*>(a.grad_out);
        T* dx = static_cast<T*>(a.out);
        rows_parallel(a.rows, a.cols, [&](int64_t r) {
            const int64_t base = r * a.cols;
            double acc = 0.0;
            for (int64_t c = 0; c < a.cols; ++c) {
                const double g = load_float(dy[base + c]);
                acc += a.log ? g : g * load_float(y[base + c]);
            }
            for (int64_t c = 0; c < a.cols; ++c) {
                const double g = load_float(dy[base + c]), v = load_float(y[base + c]);
                store_float(dx[base + c], float(a.log ? g - std::exp(v) * acc : v * (g - acc)));
            }
        });
    });
}

void norm_forward(const Exec&, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* x = static_cast<const T*>(a.x);
        const T* w = static_cast<const T*>(a.weight);
        const T* b = static_cast<const T*>(a.bias);
        T* out = static_cast<T*>(a.out);
        rows_parallel(a.rows, a.cols, [&](int64_t r) {
            const T* xr = x + r * a.cols;
            double mean, rstd;
            row_stats(xr, a.cols, a.rms, a.eps, mean, rstd);
            for (int64_t c = 0; c < a.cols; ++c) {
                double v = (load_float(xr[c]) - mean) * rstd;
                if (w) v *= load_float(w[c]);
                if (b) v += load_float(b[c]);
                store_float(out[r * a.cols + c], float(v));
            }
        });
    });
}

void norm_backward(const Exec& ex, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* x = static_cast<const T*>(a.x);
        const T* w = static_cast<const T*>(a.weight);
        const T* dy = static_cast<const T*>(a.grad_out);
        T* dx = static_cast<T*>(a.out);
        const int64_t cols = a.cols;
        rows_parallel(a.rows, cols, [&](int64_t r) {
            const int64_t base = r * cols;
            double mean, rstd;
            row_stats(x + base, cols, a.rms, a.eps, mean, rstd);
            double sg = 0.0, sgx = 0.0;
            for (int64_t c = 0; c < cols; ++c) {
                const double g = double(load_float(dy[base + c])) * (w ? load_float(w[c]) : 1.0f);
                sg += g;
                sgx += g * (load_float(x[base + c]) - mean) * rstd;
            }
            const double mg = a.rms ? 0.0 : sg / double(cols), mgx = sgx / double(cols);
            for (int64_t c = 0; c < cols; ++c) {
                const double g = double(load_float(dy[base + c])) * (w ? load_float(w[c]) : 1.0f);
                const double xhat = (load_float(x[base + c]) - mean) * rstd;
                store_float(dx[base + c], float(rstd * (g - mg - xhat * mgx)));
            }
        });
        if (!a.grad_weight && !a.grad_bias) return;
        const int64_t parts = bias_partial_rows(ex, a.rows);
        float* pw = a.workspace + 2 * a.rows;
        float* pb = pw + parts * cols;
        parallel_for(parts, [&](int64_t p) {
            std::vector<double> sw(size_t(cols), 0.0), sb(size_t(cols), 0.0);
            for (int64_t r = p * a.rows / parts; r < (p + 1) * a.rows / parts; ++r) {
                double mean, rstd;
                row_stats(x + r * cols, cols, a.rms, a.eps, mean, rstd);
                for (int64_t c = 0; c < cols; ++c) {
                    const double g = load_float(dy[r * cols + c]);
                    sw[size_t(c)] += g * (load_float(x[r * cols + c]) - mean) * rstd;
                    sb[size_t(c)] += g;
                }
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
            if (a.grad_weight) store_float(static_cast<T*>(a.grad_weight)[c], float(sw));
            if (a.grad_bias) store_float(static_cast<T*>(a.grad_bias)[c], float(sb));
        }
    });
}

void rope(const Exec&, DType dtype, const RopeArgs& a) {
    const int64_t pairs = a.bh * a.seq * (a.dim / 2);
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const auto body = RopePair<T>::of(a);
        parallel_range(pairs, 1 << 13, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) body.apply(p);
        });
    });
}

}  // namespace dk::cpu
