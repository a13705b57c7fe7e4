// cpu/activation.cpp - activations and gated units on the cpu backend: the bodies of
// activation/activation_bodies.cuh (the kernels' own per-element code) over chunks of the index
// space on the thread pool, in loops compiled per ISA (activation_loops.inc, isa.h); a call
// without bias walks the bodies' bias-less form, so its loop is the plain vectorized one. The bias
// gradient sums each block of rows in f64, then the blocks.
//
// Traffic: forward reads x (and the bias row) and writes out; backward reads x and grad_out and
// writes grad_in (+ the column partials); gated forms read gate and up. All of it streams once.
#include <vector>

#include "activation/activation_bodies.cuh"
#include "deepkern/dispatch.h"
#include "isa.h"
#include "thread_pool.h"
#include "activation/activation.h"

#define DK_ISA_BODY "activation_loops.inc"
#include "isa_variants.h"

namespace dk::cpu {

namespace {

template <typename Body>
void walk(const Body& body, int64_t rows, int64_t cols) {
    DK_ISA_CALL(walk<Body>, body, rows, cols);
}

template <typename T, typename Body>
void backward_with_bias(const Exec& ex, const Body& body, const ActArgs& a) {
    const int64_t parts = bias_partial_rows(ex, a.rows);
    DK_ISA_CALL(column_partials<Body>, body, a.rows, a.cols, parts, a.workspace);
    T* grad_bias = static_cast<T*>(a.grad_bias);
    for (int64_t c = 0; c < a.cols; ++c) {
        double s = 0.0;
        for (int64_t p = 0; p < parts; ++p) s += a.workspace[p * a.cols + c];
        store_float(grad_bias[c], float(s));
    }
}

}  // namespace

void activation_forward(const Exec&, DType dtype, const ActParams& p, const ActArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_activation(p, [&](auto act) {
            if (a.bias)
                walk(ActForward<T, decltype(act)>::of(a, act), a.rows, a.cols);
            else
                walk(ActForward<T, decltype(act), false>::of(a, act), a.rows, a.cols);
        });
    });
}

void activation_backward(const Exec& ex, DType dtype, const ActParams& p, const ActArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_activation(p, [&](auto act) {
            if (a.grad_bias)
                backward_with_bias<T>(ex, ActBackward<T, decltype(act)>::of(a, act), a);
            else if (a.bias)
                walk(ActBackward<T, decltype(act)>::of(a, act), a.rows, a.cols);
            else
                walk(ActBackward<T, decltype(act), false>::of(a, act), a.rows, a.cols);
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
