// activation_bodies.cuh - what one element (or one 16-byte pack of elements) of each activation
// family does, shared by the CUDA/emu kernels (activation.cu, gated.cu) and the cpu backend, which
// differ only in how they walk the index space.
//
// A body's apply<V>(i, row, col) handles elements i .. i+V-1 of the [rows, cols] output index
// space, all in one row (col + V <= cols); V is 1 or a full 16-byte pack. Math is f32.
#pragma once

#include "activation/activations.cuh"
#include "activation/activation.h"
#include "deepkern/packs.cuh"

namespace dk {

// x + bias[col..], or x when there is no bias.
template <int V, typename T>
DK_HD Floats<V> biased(const T* x, const T* bias, int64_t i, int64_t col) {
    Floats<V> z = load<V>(x + i);
    if (bias) {
        const Floats<V> b = load<V>(bias + col);
        each<V>([&](int k) { z.v[k] += b.v[k]; });
    }
    return z;
}

// out = act(x + bias). Bias false: no bias, known at compile time (the cpu backend's loops, where
// a run-time null test keeps the compiler's vectorized loop from serving the bias-less call).
template <typename T, typename Act, bool Bias = true>
struct ActForward {
    const T* x;
    const T* bias;
    T* out;
    Act act;

    static ActForward of(const ActArgs& a, Act act) {
        return {static_cast<const T*>(a.x), static_cast<const T*>(a.bias), static_cast<T*>(a.out), act};
    }

    template <int V>
    DK_HD void apply(int64_t i, int64_t, int64_t col) const {
        Floats<V> z = biased<V>(x, Bias ? bias : nullptr, i, col);
        each<V>([&](int k) { z.v[k] = act(z.v[k]); });
        store<V>(out + i, z);
    }
};

// grad_in = grad_out * act'(x + bias); returns grad_in for the bias reduction. Bias as above.
template <typename T, typename Act, bool Bias = true>
struct ActBackward {
    const T* x;
    const T* bias;
    const T* grad_out;
    T* grad_in;
    Act act;

    static ActBackward of(const ActArgs& a, Act act) {
        return {static_cast<const T*>(a.x), static_cast<const T*>(a.bias), static_cast<const T*>(a.grad_out),
                static_cast<T*>(a.out), act};
    }

    template <int V>
    DK_HD Floats<V> apply(int64_t i, int64_t, int64_t col) const {
        const Floats<V> z = biased<V>(x, Bias ? bias : nullptr, i, col);
        Floats<V> g = load<V>(grad_out + i);
        each<V>([&](int k) { g.v[k] *= act.grad(z.v[k]); });
        store<V>(grad_in + i, g);
        return g;
    }
};

// out = up * act(gate); gate/up rows are row_stride apart, out is compact.
template <typename T, typename Act>
struct GatedForward {
    const T* gate;
    const T* up;
    T* out;
    int64_t row_stride;
    Act act;

    static GatedForward of(const GatedArgs& a, Act act) {
        return {static_cast<const T*>(a.gate), static_cast<const T*>(a.up), static_cast<T*>(a.out), a.row_stride, act};
    }

    template <int V>
    DK_HD void apply(int64_t i, int64_t row, int64_t col) const {
        const int64_t a = row * row_stride + col;
        const Floats<V> g = load<V>(gate + a);
        Floats<V> u = load<V>(up + a);
        each<V>([&](int k) { u.v[k] *= act(g.v[k]); });
        store<V>(out + i, u);
    }
};

// grad_up = grad_out * act(gate), grad_gate = grad_out * up * act'(gate)
template <typename T, typename Act>
struct GatedBackward {
    const T* gate;
    const T* up;
    const T* grad_out;
    T* grad_gate;
    T* grad_up;
    int64_t row_stride;
    Act act;

    static GatedBackward of(const GatedArgs& a, Act act) {
        return {static_cast<const T*>(a.gate), static_cast<const T*>(a.up),     static_cast<const T*>(a.grad_out),
                static_cast<T*>(a.grad_gate),  static_cast<T*>(a.grad_up), a.row_stride, act};
    }

    template <int V>
    DK_HD void apply(int64_t i, int64_t row, int64_t col) const {
        const int64_t a = row * row_stride + col;
        const Floats<V> g = load<V>(gate + a);
        const Floats<V> u = load<V>(up + a);
        const Floats<V> go = load<V>(grad_out + i);
        Floats<V> gg, gu;
        each<V>([&](int k) {
            gu.v[k] = go.v[k] * act(g.v[k]);
            gg.v[k] = go.v[k] * u.v[k] * act.grad(g.v[k]);
        });
        store<V>(grad_gate + a, gg);
        store<V>(grad_up + a, gu);
    }
};

}  // namespace dk
