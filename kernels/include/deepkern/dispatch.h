// dispatch.h - from a runtime DType to a compile-time storage type, and element conversion.
#pragma once

#include <cstdint>
#include <type_traits>

#include "deepkern/error.h"
#include "deepkern/numeric.cuh"
#include "deepkern/backend.h"

namespace dk {

template <typename T>
struct TypeTag { using type = T; };

// f(TypeTag<T>{}) for the floating dtypes (f32, f16, bf16).
template <class F>
void dispatch_floating(DType t, F&& f) {
    switch (t) {
        case DType::f32: f(TypeTag<float>{}); return;
        case DType::f16: f(TypeTag<f16>{}); return;
        case DType::bf16: f(TypeTag<bf16>{}); return;
        default: throw Error(DK_ERROR_INTERNAL, "dispatch_floating: not a floating dtype");
    }
}

// f(TypeTag<T>{}) for every dtype.
template <class F>
void dispatch_all(DType t, F&& f) {
    switch (t) {
        case DType::i32: f(TypeTag<int32_t>{}); return;
        case DType::i64: f(TypeTag<int64_t>{}); return;
        default: dispatch_floating(t, f);
    }
}

// f(std::true_type{}) or f(std::false_type{}): a runtime flag as a template parameter.
template <class F>
void dispatch_bool(bool b, F&& f) {
    if (b) f(std::true_type{});
    else f(std::false_type{});
}

template <typename T> struct is_integer_dtype { static constexpr bool value = false; };
template <> struct is_integer_dtype<int32_t> { static constexpr bool value = true; };
template <> struct is_integer_dtype<int64_t> { static constexpr bool value = true; };

// Float to integer conversion as PyTorch does it for finite in-range values (truncation);
// NaN becomes 0 and out-of-range values saturate, where C++ would leave it undefined.
template <typename I>
DK_HD I saturating_int(double v) {
    const uint64_t sign_bit = uint64_t(1) << (sizeof(I) * 8 - 1);
    const double lo = -double(sign_bit);
    if (!(v == v)) return I(0);
    if (v <= lo) return I(lo);
    if (v >= -lo) return I(~sign_bit);
    return I(v);
}

// Element conversion between any two dtypes; floats meet through f32, integers directly.
template <typename To, typename From>
DK_HD To convert(From v) {
    constexpr bool from_int = is_integer_dtype<From>::value;
    constexpr bool to_int = is_integer_dtype<To>::value;
    if constexpr (from_int && to_int) {
        return To(v);
    } else if constexpr (from_int) {
        To out;
        store_float(out, float(v));
        return out;
    } else if constexpr (to_int) {
        return saturating_int<To>(double(load_float(v)));
    } else {
        To out;
        store_float(out, load_float(v));
        return out;
    }
}

}  // namespace dk
