// numeric.cuh - the storage dtypes kernels and the cpu backend share, and their conversions.
//
// Under nvcc the 16-bit types are CUDA's own (__half, __nv_bfloat16) so kernels get the
// hardware conversions. Under a host compiler (cpu backend, emulator) they are 16-bit structs
// with bit-exact round-to-nearest-even conversions, so the same code compiles without a CUDA
// toolkit. Math always happens in f32: load_float / store_float are the only crossings.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#define DK_HD __host__ __device__ __forceinline__
#define DK_UNROLL _Pragma("unroll")
#define DK_UNROLL_BY(n) DK_PRAGMA(unroll n)
#else
#define DK_HD inline
#define DK_UNROLL _Pragma("GCC unroll 16")
#define DK_UNROLL_BY(n) DK_PRAGMA(GCC unroll n)
#endif
#define DK_PRAGMA(x) _Pragma(#x)
#define DK_NO_UNROLL DK_UNROLL_BY(1)

namespace dk {

#if defined(__CUDACC__)
using f16 = __half;
using bf16 = __nv_bfloat16;
#else
struct f16 { uint16_t bits; };
struct bf16 { uint16_t bits; };
#endif

DK_HD float bits_to_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}

DK_HD uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
#endif
}

// 1 / x, correctly rounded: on the device the reciprocal sequence, cheaper than a division.
DK_HD float rcp(float x) {
#if defined(__CUDA_ARCH__)
    return __frcp_rn(x);
#else
    return 1.0f / x;
#endif
}

// c ? a : b on bit patterns, as a mask: the host conversions below select rather than branch, so
// the cpu backend's loops around them vectorize (a data-dependent branch stops GCC's vectorizer).
DK_HD uint32_t select_bits(bool c, uint32_t a, uint32_t b) {
    const uint32_t m = 0u - uint32_t(c);
    return (a & m) | (b & ~m);
}

// IEEE binary16 <-> binary32, round to nearest even, subnormals exact, NaN quieted (payload kept).
// Every case is computed and the right one selected.
DK_HD float half_bits_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t a = uint32_t(h & 0x7fffu) << 13;  // exponent and mantissa at f32's places
    const uint32_t exp = a & 0x0f800000u;
    const uint32_t normal = a + 0x38000000u;          // rebias 15 -> 127
    const uint32_t inf_nan = (a + 0x70000000u) | select_bits(a > 0x0f800000u, 0x00400000u, 0u);  // NaN: quiet
    // subnormal: man * 2^-24, exact: 2^-14 (1 + man / 1024) - 2^-14 in f32
    const uint32_t subnormal = float_to_bits(bits_to_float(a + 0x38800000u) - 6.103515625e-05f);
    return bits_to_float(sign | select_bits(exp == 0x0f800000u, inf_nan, select_bits(exp == 0, subnormal, normal)));
}

DK_HD uint16_t float_to_half_bits(float f) {
    const uint32_t u = float_to_bits(f);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t a = u & 0x7fffffffu;
    const uint32_t nan = 0x7e00u | ((a >> 13) & 0x3ffu);  // quiet, payload's top bits kept
    // result subnormal or zero (a < 2^-14): scale so that the half ulp (2^-24) becomes 1, let the
    // f32 adder round to nearest even, read the integer back (1.5 * 2^23 pins the exponent)
    const uint32_t small = float_to_bits(bits_to_float(a < 0x38800000u ? a : 0u) * 16777216.0f + 12582912.0f) - 0x4b400000u;
    const uint32_t normal = (a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u) >> 13;  // round to nearest even at bit 13
    const uint32_t h = select_bits(a > 0x7f800000u, nan,
                                   select_bits(a >= 0x477ff000u, 0x7c00u,  // rounds to inf
                                               select_bits(a < 0x38800000u, small, normal)));
    return uint16_t(sign | h);
}

DK_HD float bf16_bits_to_float(uint16_t b) { return bits_to_float(uint32_t(b) << 16); }

// Round to nearest even: add 0x7fff plus the kept part's last bit, keep the top half. A NaN gets
// its quiet bit set and no rounding bias (which could carry it into the sign). Every step is on
// the 32-bit word and the narrowing comes last: a select between 16-bit results made GCC narrow
// the 32-bit masks with shuffles, which cost the vectorized bf16 loops a third of their time.
DK_HD uint16_t float_to_bf16_bits(float f) {
    const uint32_t u = float_to_bits(f);
    const uint32_t nan = 0u - uint32_t((u & 0x7fffffffu) > 0x7f800000u);
    const uint32_t bias = (0x7fffu + ((u >> 16) & 1u)) & ~nan;
    return uint16_t(((u | (nan & 0x00400000u)) + bias) >> 16);
}

// load_float / store_float: the one place a storage dtype meets f32 math.
DK_HD float load_float(float v) { return v; }
DK_HD void store_float(float& dst, float v) { dst = v; }

#if defined(__CUDACC__)
DK_HD float load_float(f16 v) { return __half2float(v); }
DK_HD float load_float(bf16 v) { return __bfloat162float(v); }
DK_HD void store_float(f16& dst, float v) { dst = __float2half_rn(v); }
DK_HD void store_float(bf16& dst, float v) { dst = __float2bfloat16_rn(v); }
#else
DK_HD float load_float(f16 v) { return half_bits_to_float(v.bits); }
DK_HD float load_float(bf16 v) { return bf16_bits_to_float(v.bits); }
DK_HD void store_float(f16& dst, float v) { dst.bits = float_to_half_bits(v); }
DK_HD void store_float(bf16& dst, float v) { dst.bits = float_to_bf16_bits(v); }
#endif

// Sixteen bytes of T: the unit of vectorized loads and stores.
template <typename T>
struct alignas(16) Pack16 {
    static constexpr int size = 16 / int(sizeof(T));
    T v[size];
};

}  // namespace dk
