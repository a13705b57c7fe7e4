// reduction_bodies.cuh - what a reduction keeps while it runs, shared by the kernel and the cpu
// loop: a running value (Acc: f32 in the kernels, f64 on the cpu, i64 for integers) and, for max,
// min and the arg ops, the index it came from. Partial states combine in any order to the same
// answer: NaN wins max and min (it propagates, as in torch) and a tie goes to the lower index.
#pragma once

#include <type_traits>

#include "deepkern/dispatch.h"
#include "deepkern/numeric.cuh"
#include "deepkern/strides.cuh"
#include "reduction/reduction.h"

namespace dk {

template <typename Acc>
struct ReduceState {
    Acc value;
    int64_t index;  // -1: nothing seen yet
};

DK_HD bool reduce_is_max(ReduceOp op) { return op == ReduceOp::max || op == ReduceOp::argmax; }
DK_HD bool reduce_is_sum(ReduceOp op) { return op == ReduceOp::sum || op == ReduceOp::mean; }

template <typename Acc>
DK_HD ReduceState<Acc> reduce_empty() {
    return {Acc(0), -1};
}

template <typename Acc>
DK_HD bool reduce_is_nan(Acc v) {
    return v != v;
}

// The state of a and b together (a and b from disjoint index sets).
template <typename Acc>
DK_HD ReduceState<Acc> reduce_combine(ReduceOp op, ReduceState<Acc> a, ReduceState<Acc> b) {
    if (b.index < 0) return a;
    if (a.index < 0) return b;
    if (reduce_is_sum(op)) {
        Acc sum;
        if constexpr (std::is_integral<Acc>::value) sum = Acc(uint64_t(a.value) + uint64_t(b.value));  // wraps, as torch's
        else sum = a.value + b.value;
        return {sum, a.index < b.index ? a.index : b.index};
    }
    const bool an = reduce_is_nan(a.value), bn = reduce_is_nan(b.value);
    if (an || bn) return an && (!bn || a.index < b.index) ? a : b;
    const bool b_better = reduce_is_max(op) ? b.value > a.value : b.value < a.value;
    if (b_better || (b.value == a.value && b.index < a.index)) return b;
    return a;
}

// x element at offset `at`, index r, into the state.
template <typename Acc, typename T>
DK_HD ReduceState<Acc> reduce_step(ReduceOp op, ReduceState<Acc> s, const T* x, int64_t at, int64_t r) {
    Acc v;
    if constexpr (is_integer_dtype<T>::value) v = Acc(x[at]);
    else v = Acc(load_float(x[at]));
    return reduce_combine<Acc>(op, s, ReduceState<Acc>{v, r});
}

// The finished state of out element o, written.
template <typename Acc, typename T>
DK_HD void reduce_store(const ReduceArgs& a, int64_t o, ReduceState<Acc> s) {
    if (a.op == ReduceOp::argmax || a.op == ReduceOp::argmin) {
        static_cast<int64_t*>(a.out)[o] = s.index;
    } else if constexpr (is_integer_dtype<T>::value) {
        if (a.op == ReduceOp::sum) static_cast<int64_t*>(a.out)[o] = int64_t(s.value);
        else static_cast<T*>(a.out)[o] = T(s.value);
    } else {
        Acc v = s.value;
        if (a.op == ReduceOp::mean) v = a.inner_numel ? Acc(v / Acc(a.inner_numel)) : Acc(0) / Acc(0);
        store_float(static_cast<T*>(a.out)[o], float(v));
    }
}

}  // namespace dk
