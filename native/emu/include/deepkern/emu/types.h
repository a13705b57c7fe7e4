// emu/types.h - CUDA's built-in value types for the emulator build: dim3, the vector types
// (float4, int2, ...) with CUDA's sizes and alignments, and the 16-bit float names
// (__half, __nv_bfloat16 and their conversions) built on dk::f16 / dk::bf16 from numeric.cuh,
// so the emu build needs no CUDA toolkit header.
//
// __half and __nv_bfloat16 are the same bit-exact host structs the cpu backend uses. They do not
// convert implicitly to or from float: kernels convert through the intrinsics below (or
// load_float / store_float), which compile identically under nvcc.
#pragma once

#include <cstdint>
#include "deepkern/numeric.cuh"

// T1..T4 with CUDA's layout: T2 aligned to its size, T3 unaligned, T4 aligned to min(size, 16).
#define DK_EMU_VECTOR_TYPES(T, N)                                                                  \
    struct alignas(sizeof(T)) N##1 { T x; };                                                       \
    struct alignas(2 * sizeof(T)) N##2 { T x, y; };                                                \
    struct N##3 { T x, y, z; };                                                                    \
    struct alignas(4 * sizeof(T) < 16 ? 4 * sizeof(T) : 16) N##4 { T x, y, z, w; };                \
    inline constexpr N##1 make_##N##1(T x) { return {x}; }                                         \
    inline constexpr N##2 make_##N##2(T x, T y) { return {x, y}; }                                 \
    inline constexpr N##3 make_##N##3(T x, T y, T z) { return {x, y, z}; }                         \
    inline constexpr N##4 make_##N##4(T x, T y, T z, T w) { return {x, y, z, w}; }

DK_EMU_VECTOR_TYPES(signed char, char)
DK_EMU_VECTOR_TYPES(unsigned char, uchar)
DK_EMU_VECTOR_TYPES(short, short)
DK_EMU_VECTOR_TYPES(unsigned short, ushort)
DK_EMU_VECTOR_TYPES(int, int)
DK_EMU_VECTOR_TYPES(unsigned int, uint)
DK_EMU_VECTOR_TYPES(long, long)
DK_EMU_VECTOR_TYPES(unsigned long, ulong)
DK_EMU_VECTOR_TYPES(long long, longlong)
DK_EMU_VECTOR_TYPES(unsigned long long, ulonglong)
DK_EMU_VECTOR_TYPES(float, float)
DK_EMU_VECTOR_TYPES(double, double)
#undef DK_EMU_VECTOR_TYPES

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return {x, y, z}; }
};

constexpr int warpSize = 32;

// ---- 16-bit floats ----
using __half = dk::f16;
using __nv_bfloat16 = dk::bf16;
struct alignas(4) __half2 { __half x, y; };
struct alignas(4) __nv_bfloat162 { __nv_bfloat16 x, y; };

namespace dk::emu::rt {
// f32 <-> 16-bit storage, one template for both formats.
inline float widen(__half h) { return half_bits_to_float(h.bits); }
inline float widen(__nv_bfloat16 h) { return bf16_bits_to_float(h.bits); }
template <typename H> inline H narrow(float f);
template <> inline __half narrow<__half>(float f) { return {float_to_half_bits(f)}; }
template <> inline __nv_bfloat16 narrow<__nv_bfloat16>(float f) { return {float_to_bf16_bits(f)}; }
}  // namespace dk::emu::rt

inline float __half2float(__half h) { return dk::emu::rt::widen(h); }
inline float __bfloat162float(__nv_bfloat16 h) { return dk::emu::rt::widen(h); }
inline __half __float2half(float f) { return dk::emu::rt::narrow<__half>(f); }
inline __half __float2half_rn(float f) { return dk::emu::rt::narrow<__half>(f); }
inline __nv_bfloat16 __float2bfloat16(float f) { return dk::emu::rt::narrow<__nv_bfloat16>(f); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return dk::emu::rt::narrow<__nv_bfloat16>(f); }
inline unsigned short __half_as_ushort(__half h) { return h.bits; }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.bits; }
inline __half __ushort_as_half(unsigned short u) { return {u}; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { return {u}; }

inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }
inline __half2 __float22half2_rn(float2 v) { return __floats2half2_rn(v.x, v.y); }
inline float2 __half22float2(__half2 v) { return {__half2float(v.x), __half2float(v.y)}; }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) {
    return {__float2bfloat16_rn(a), __float2bfloat16_rn(b)};
}
inline __nv_bfloat162 __float22bfloat162_rn(float2 v) { return __floats2bfloat162_rn(v.x, v.y); }
inline float2 __bfloat1622float2(__nv_bfloat162 v) { return {__bfloat162float(v.x), __bfloat162float(v.y)}; }
inline float __low2float(__half2 v) { return __half2float(v.x); }
inline float __high2float(__half2 v) { return __half2float(v.y); }
inline float __low2float(__nv_bfloat162 v) { return __bfloat162float(v.x); }
inline float __high2float(__nv_bfloat162 v) { return __bfloat162float(v.y); }

// Arithmetic rounds once to the 16-bit format: f32 holds every exact sum/product/quotient of
// two such values closely enough (24 >= 2p + 2 bits) that the double rounding is exact.
#define DK_EMU_HALF_OPS(H)                                                                         \
    inline H __hadd(H a, H b) { return dk::emu::rt::narrow<H>(dk::emu::rt::widen(a) + dk::emu::rt::widen(b)); } \
    inline H __hsub(H a, H b) { return dk::emu::rt::narrow<H>(dk::emu::rt::widen(a) - dk::emu::rt::widen(b)); } \
    inline H __hmul(H a, H b) { return dk::emu::rt::narrow<H>(dk::emu::rt::widen(a) * dk::emu::rt::widen(b)); } \
    inline H __hdiv(H a, H b) { return dk::emu::rt::narrow<H>(dk::emu::rt::widen(a) / dk::emu::rt::widen(b)); } \
    inline H __hneg(H a) { return H{uint16_t(a.bits ^ 0x8000u)}; }                                 \
    inline H __hfma(H a, H b, H c) {                                                               \
        return dk::emu::rt::narrow<H>(float(double(dk::emu::rt::widen(a)) * dk::emu::rt::widen(b) + \
                                            dk::emu::rt::widen(c)));                               \
    }                                                                                              \
    inline H __hmax(H a, H b) { return dk::emu::rt::widen(a) >= dk::emu::rt::widen(b) ? a : b; }   \
    inline H __hmin(H a, H b) { return dk::emu::rt::widen(a) <= dk::emu::rt::widen(b) ? a : b; }
DK_EMU_HALF_OPS(__half)
DK_EMU_HALF_OPS(__nv_bfloat16)
#undef DK_EMU_HALF_OPS
