// elementwise_bodies.cuh - one element of a binary op, shared by the kernel and the cpu loop:
// where its operands are (strides), and the arithmetic: f32 for the floating dtypes, as every
// deepkern op computes; the integer dtypes in their own width, wrapping on overflow as torch's do.
#pragma once

#include <type_traits>

#include "deepkern/dispatch.h"
#include "deepkern/numeric.cuh"
#include "elementwise/elementwise.h"

namespace dk {

// The compute type of T: f32 for the floating dtypes, T itself for the integers.
template <typename T>
using BinaryCompute = typename std::conditional<is_integer_dtype<T>::value, T, float>::type;

template <typename C>
DK_HD C binary_math(BinaryOp op, C x, C y) {
    using W = typename std::conditional<std::is_integral<C>::value, std::make_unsigned<C>, std::common_type<C>>::type::type;
    switch (op) {
        case BinaryOp::add: return C(W(x) + W(y));  // integers wrap (unsigned arithmetic: no UB)
        case BinaryOp::sub: return C(W(x) - W(y));
        case BinaryOp::mul: return C(W(x) * W(y));
        case BinaryOp::div: return x / y;
        // NaN propagates, as in torch.maximum and torch.minimum
        case BinaryOp::maximum: return x != x ? x : (y != y ? y : (x > y ? x : y));
        case BinaryOp::minimum: return x != x ? x : (y != y ? y : (x < y ? x : y));
    }
    return x;
}

template <typename T>
DK_HD BinaryCompute<T> binary_load(const void* base, int64_t at) {
    const T v = static_cast<const T*>(base)[at];
    if constexpr (is_integer_dtype<T>::value) return v;
    else return load_float(v);
}

// The op on loaded operands x (a) and y (b or the scalar): y scaled by alpha for add and sub, the
// scalar on the left when scalar_first. op is a's, or the same as a constant (the cpu's row loop).
template <typename C>
DK_HD C binary_apply(const BinaryArgs& a, BinaryOp op, C x, C y) {
    if (op == BinaryOp::add || op == BinaryOp::sub) y = binary_math<C>(BinaryOp::mul, y, C(a.alpha));
    return a.has_scalar && a.scalar_first ? binary_math<C>(op, y, x) : binary_math<C>(op, x, y);
}

template <typename T>
DK_HD void binary_store(void* base, int64_t at, BinaryCompute<T> r) {
    T* out = static_cast<T*>(base);
    if constexpr (is_integer_dtype<T>::value) out[at] = r;
    else store_float(out[at], r);
}

// Out element i of a binary op.
template <typename T>
DK_HD void binary_element(const BinaryArgs& a, int64_t i) {
    using C = BinaryCompute<T>;
    int64_t ao = i * a.a_stride[0], bo = i * a.b_stride[0], oo = i * a.out_stride[0], rest = i;  // one flat dim: no division
    if (a.ndim > 1) ao = bo = oo = 0;
    for (int d = a.ndim > 1 ? a.ndim - 1 : -1; d >= 0; --d) {
        const int64_t idx = rest % a.shape[d];
        rest /= a.shape[d];
        ao += idx * a.a_stride[d];
        bo += idx * a.b_stride[d];
        oo += idx * a.out_stride[d];
    }
    const C y = a.has_scalar ? C(a.scalar) : binary_load<T>(a.b, bo);
    binary_store<T>(a.out, oo, binary_apply<C>(a, a.op, binary_load<T>(a.a, ao), y));
}

}  // namespace dk
