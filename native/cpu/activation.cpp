// cpu/activation.cpp - activations and gated units on the cpu backend: the bodies of
// activation/activation_bodies.cuh (the kernels' own per-element code) over chunks of the index
// space on the thread pool. The bias gradient sums each chunk of rows in f64, then the chunks.
#include <vector>

#include "activation/activation_bodies.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"
#include "activation/activation.h"

namespace dk::cpu {

// Each chunk as plain loops over the pieces of rows it holds: countable inner loops the compiler
// vectorizes where the body allows it (no wrap test per element).
template <typename Body>
static void walk(const Body& body, int64_t rows, int64_t cols) {
    parallel_range(rows * cols, 1 << 14, [&](int64_t begin, int64_t end) {
        int64_t row = begin / cols, col = begin % cols;
        for (int64_t i = begin; i < end; ++row, col = 0) {
            const int64_t n = cols - col < end - i ? cols - col : end - i;
            const int64_t base = i - col;
            for (int64_t c = col; c < col + n; ++c) body.template apply<1>(base + c, row, c);
            i += n;
        }
    });
}

template <typename T, typename Body>
static void backward_with_bias(const Exec& ex, const Body& body, const ActArgs& a) {
    const int64_t parts = bias_partial_rows(ex, a.rows);
    parallel_for(parts, [&](int64_t p) {
        std::vector<double> sums(size_t(a.cols), 0.0);
        for (int64_t r = p * a.rows / parts; r < (p + 1) * a.rows / parts; ++r)
            for (int64_t c = 0; c < a.cols; ++c) sums[size_t(c)] += body.template apply<1>(r * a.cols + c, r, c).v[0];
        for (int64_t c = 0; c < a.cols; ++c) a.workspace[p * a.cols + c] = float(sums[size_t(c)]);
    });
    T* grad_bias = static_cast<T*>(a.grad_bias);
    for (int64_t c = 0; c < a.cols; ++c) {
        double s = 0.0;
        for (int64_t p = 0; p < parts; ++p) s += a.workspace[p * a.cols + c];
        store_float(grad_bias[c], float(s));
    }
}

void activation_forward(const Exec&, DType dtype, const ActParams& p, const ActArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_activation(p, [&](auto act) {
            walk(ActForward<T, decltype(act)>::of(a, act), a.rows, a.cols);
        });
    });
}

void activation_backward(const Exec& ex, DType dtype, const ActParams& p, const ActArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_activation(p, [&](auto act) {
            const auto body = ActBackward<T, decltype(act)>::of(a, act);
            if (a.grad_bias)
                backward_with_bias<T>(ex, body, a);
            else
                walk(body, a.rows, a.cols);
        });
    });
}

void gated_forward(const Exec&, DType dtype, const ActParams& p, const GatedArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_gate_activation(p, [&](auto act) {
            walk(GatedForward<T, decltype(act)>::of(a, act), a.rows, a.cols);
        });
    });
}

void gated_backward(const Exec&, DType dtype, const ActParams& p, const GatedArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_gate_activation(p, [&](auto act) {
            walk(GatedBackward<T, decltype(act)>::of(a, act), a.rows, a.cols);
        });
    });
}

}  // namespace dk::cpu
