// cpu/norm.cpp - softmax, log_softmax, layer_norm and rms_norm on the cpu
// backend: rows in chunks on the thread pool, each row in f32 passes over the row (a few reads of
// a row that stays in cache; the ops are bound by memory traffic, about one read of x and one
// write of out, plus dy for the backwards). The passes are norm_loops.inc, built for SSE2, AVX2
// and AVX-512 (isa.h), and read and write rows of every dtype directly.
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
// of a sum of kBlock / kLanes terms. A row with a NaN gives NaN (it reaches the sum); a row whose
// max is -inf (all -inf, or -inf and NaN) is NaN, as 0 / 0 would make it.
// The norms' weight and bias gradients sum each block of rows (bias_partial_rows, a number that
// does not depend on the thread count) in f64, then the blocks in order (no atomics): the same
// bits on any number of threads.
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "deepkern/dispatch.h"
#include "isa.h"
#include "thread_pool.h"
#include "deepkern/vec_math.h"
#include "norm/norm.h"

#define DK_ISA_BODY "norm_loops.inc"
#include "isa_variants.h"

namespace dk::cpu {

namespace {

// A parameter vector (weight or bias) as f32, converted once per call where it is of x's dtype T
// and T is not f32 (NormArgs::params_f32: already f32).
template <typename T>
struct F32Param {
    std::vector<float> buf;
    const float* p = nullptr;
    F32Param(const void* v, int64_t n, bool f32) {
        if (!v) return;
        if (f32 || std::is_same_v<T, float>) {
            p = static_cast<const float*>(v);
            return;
        }
        buf.resize(size_t(n));
        for (int64_t i = 0; i < n; ++i) buf[size_t(i)] = load_float(static_cast<const T*>(v)[i]);
        p = buf.data();
    }
};

// Element c of a parameter gradient, of x's dtype T or f32.
template <typename T>
void store_param(void* grad, bool f32, int64_t c, double v) {
    if (f32) static_cast<float*>(grad)[c] = float(v);
    else store_float(static_cast<T*>(grad)[c], float(v));
}

// Rows in chunks on the pool, body(begin, end, scratch) per chunk with `scratch_rows` f32 rows of
// scratch.
template <class F>
void rows_parallel(int64_t rows, int64_t cols, int scratch_rows, F&& body) {
    const int64_t grain = cols >= (1 << 14) ? 1 : (1 << 14) / (cols < 1 ? 1 : cols);
    parallel_range(rows, grain, [&](int64_t b, int64_t e) {
        std::vector<float> scratch(size_t(scratch_rows * cols));
        body(b, e, scratch.data());
    });
}

}  // namespace

void softmax_forward(const Exec&, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        rows_parallel(a.rows, a.cols, std::is_same_v<T, float> ? 0 : 1, [&](int64_t b, int64_t e, float* scratch) {
            DK_ISA_CALL(softmax_rows<T>, a, b, e, scratch);
        });
    });
}

void softmax_backward(const Exec&, DType dtype, const SoftmaxArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        rows_parallel(a.rows, a.cols, 0, [&](int64_t b, int64_t e, float*) { DK_ISA_CALL(softmax_grad_rows<T>, a, b, e); });
    });
}

void norm_forward(const Exec&, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const F32Param<T> w(a.weight, a.cols, a.params_f32), b(a.bias, a.cols, a.params_f32);
        rows_parallel(a.rows, a.cols, 0, [&](int64_t rb, int64_t re, float*) { DK_ISA_CALL(norm_rows<T>, a, w.p, b.p, rb, re); });
    });
}

void norm_backward(const Exec& ex, DType dtype, const NormArgs& a) {
    if (a.rows * a.cols == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t cols = a.cols;
        const F32Param<T> w(a.weight, cols, a.params_f32);
        rows_parallel(a.rows, cols, 1, [&](int64_t rb, int64_t re, float* g) {
            DK_ISA_CALL(norm_grad_rows<T>, a, w.p, rb, re, g);
        });
        if (!a.grad_weight && !a.grad_bias) return;
        const int64_t parts = bias_partial_rows(ex, a.rows);
        float* pw = a.workspace + 2 * a.rows;
        float* pb = pw + parts * cols;
        parallel_for(parts, [&](int64_t p) {
            std::vector<double> sw(size_t(cols), 0.0), sb(size_t(cols), 0.0);
            DK_ISA_CALL(param_grad_rows<T>, a, p * a.rows / parts, (p + 1) * a.rows / parts, sw.data(), sb.data());
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
