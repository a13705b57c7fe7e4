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

// IEEE binary16 <-> binary32, round to nearest even, subnormals and NaN preserved.
DK_HD float half_bits_to_float(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        // subnormal: man * 2^-24, exact in f32
        float f = float(man) * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    return bits_to_float(sign | ((exp + 112) << 23) | (man << 13));
}

DK_HD uint16_t float_to_half_bits(float f) {
    uint32_t u = float_to_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN stays NaN
    if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);                     // rounds to inf
    if (a < 0x38800000u) {
        // result is subnormal or zero: scale so that the half ulp (2^-24) becomes 1, let the
        // f32 adder round to nearest even, read the integer back.
        float scaled = bits_to_float(a) * 16777216.0f + 12582912.0f;  // 1.5 * 2^23 pins the exponent
        return uint16_t(sign | (float_to_bits(scaled) - 0x4b400000u));
    }
    uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);  // round to nearest even at bit 13
    return uint16_t(sign | ((rounded - 0x38000000u) >> 13));
}

DK_HD float bf16_bits_to_float(uint16_t b) { return bits_to_float(uint32_t(b) << 16); }

DK_HD uint16_t float_to_bf16_bits(float f) {
    uint32_t u = float_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // quiet NaN
    return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
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
