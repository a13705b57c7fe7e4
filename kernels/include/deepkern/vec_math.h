// cpu/vec_math.h - f32 elementary functions for the cpu backend's loops, written so that GCC
// vectorizes a loop that calls them: no branches (every special case is a select), no library
// calls, integers reached through bit copies rather than float-to-int conversions (which are
// undefined for NaN and out-of-range values).
//
// exp_f32(x) = 2^k * exp(r) with k = round(x log2 e) and r = x - k ln 2, |r| <= ln2 / 2. ln 2 is
// split in two constants, the first with so few bits that k * ln2_hi is exact for every k used
// here, so r carries no cancellation error. exp(r) is 1 + r + r^2 * P(r), P of degree 5 (the
// Cephes expf coefficients), about 1 ulp on that interval. 2^k is applied as two exact power-of-
// two factors 2^(k/2) * 2^(k - k/2), so that results in the subnormal range (k down to -150)
// and up to the overflow threshold (k up to 128) come out rounded once, with no intermediate
// overflow. Inputs are clamped before the polynomial so that k stays in that range; below the
// f32 underflow threshold (and for -inf) the result is exactly 0, above overflow it is +inf,
// NaN stays NaN.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace dk::cpu {

inline float vm_bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline uint32_t vm_float_to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// Below the first exp(x) < 2^-150, half the least subnormal: it rounds to 0 (the threshold is
// -150 ln 2 = -103.97...). Above the second exp(x) > FLT_MAX (from ln FLT_MAX = 88.72...). Between
// those thresholds and these bounds the scaling itself rounds to 0 or overflows to inf.
constexpr float kExpUnderflow = -104.0f;
constexpr float kExpOverflow = 89.0f;

// c ? a : b as bit operations: GCC keeps a float ternary as control flow and then specializes
// the code after it for the constant arm, which leaves possibly-trapping operations in branches
// that if-conversion may not flatten (without -fno-trapping-math); a mask cannot be specialized.
inline float select_f32(bool c, float a, float b) {
    const uint32_t m = 0u - uint32_t(c);
    return vm_bits_to_float((vm_float_to_bits(a) & m) | (vm_float_to_bits(b) & ~m));
}

inline float exp_f32(float x) {
    constexpr float log2e = 1.44269504088896341f;
    constexpr float ln2_hi = 0.693359375f;      // 355/512: k * ln2_hi is exact for |k| < 2^15
    constexpr float ln2_lo = -2.12194440e-4f;   // ln 2 - ln2_hi
    constexpr float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const float xc = select_f32(x < kExpUnderflow, kExpUnderflow, select_f32(x > kExpOverflow, kExpOverflow, x));
    // k = round(xc log2 e), read as an integer from the low mantissa bits of the biased sum
    const float biased = xc * log2e + round_magic;
    const float k = biased - round_magic;
    const int32_t ki = int32_t(vm_float_to_bits(biased) - vm_float_to_bits(round_magic));
    const float r = (xc - k * ln2_hi) - k * ln2_lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float er = p * (r * r) + r + 1.0f;
    const int32_t k1 = ki >> 1, k2 = ki - k1;  // each in [-75, 64]: normal powers of two
    const float y = er * vm_bits_to_float(uint32_t(k1 + 127) << 23) * vm_bits_to_float(uint32_t(k2 + 127) << 23);
    const float inf = std::numeric_limits<float>::infinity();
    return select_f32(x < kExpUnderflow, 0.0f, select_f32(x > kExpOverflow, inf, y));
}

}  // namespace dk::cpu
