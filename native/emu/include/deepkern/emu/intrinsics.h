// emu/intrinsics.h - CUDA's device functions on the host: math intrinsics, bit tricks, atomics,
// fences, barriers and warp collectives (shuffles, votes, __syncwarp).
//
// Fast-math intrinsics (__expf, __fdividef, ...) use the accurate libm function: the GPU's
// approximations are within a few ulp of it, so tests need tolerances either way. Atomics are
// real atomics (relaxed, like CUDA's) because blocks run on several OS threads at once.
#pragma once

#include <math.h>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "deepkern/emu/runtime.h"

// ---- math ----
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline void __sincosf(float x, float* s, float* c) { sincosf(x, s, c); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }  // NaN -> 0
inline int __float2int_rn(float x) { return int(nearbyintf(x)); }
inline int __float2int_rz(float x) { return int(x); }
inline unsigned __float2uint_rn(float x) { return unsigned(nearbyintf(x)); }
inline float __int2float_rn(int x) { return float(x); }

template <typename To, typename From>
inline To dk_emu_bit_cast(From v) {
    static_assert(sizeof(To) == sizeof(From), "bit cast between different sizes");
    To t;
    std::memcpy(&t, &v, sizeof(t));
    return t;
}
inline int __float_as_int(float x) { return dk_emu_bit_cast<int>(x); }
inline unsigned __float_as_uint(float x) { return dk_emu_bit_cast<unsigned>(x); }
inline float __int_as_float(int x) { return dk_emu_bit_cast<float>(x); }
inline float __uint_as_float(unsigned x) { return dk_emu_bit_cast<float>(x); }
inline long long __double_as_longlong(double x) { return dk_emu_bit_cast<long long>(x); }
inline double __longlong_as_double(long long x) { return dk_emu_bit_cast<double>(x); }

// CUDA's global min/max overloads.
#define DK_EMU_MINMAX(T)                                 \
    inline T min(T a, T b) { return b < a ? b : a; }     \
    inline T max(T a, T b) { return a < b ? b : a; }
DK_EMU_MINMAX(int)
DK_EMU_MINMAX(unsigned)
DK_EMU_MINMAX(long long)
DK_EMU_MINMAX(unsigned long long)
#undef DK_EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---- bits ----
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x ? __builtin_clz(unsigned(x)) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
inline int __mul24(int a, int b) { return a * b; }
inline unsigned __umul24(unsigned a, unsigned b) { return a * b; }
inline int __mulhi(int a, int b) { return int((int64_t(a) * b) >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((uint64_t(a) * b) >> 32); }

// ---- loads with cache hints: plain loads on the host ----
template <typename T> inline T __ldg(const T* p) { return *p; }
template <typename T> inline T __ldcg(const T* p) { return *p; }
template <typename T> inline T __ldca(const T* p) { return *p; }
template <typename T> inline T __ldcs(const T* p) { return *p; }

// ---- fences ----
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- atomics: integers natively, everything else by compare-and-swap on the bit pattern ----
namespace dk::emu::rt {
template <typename T> struct Same { using type = T; };
template <typename T> using same_t = typename Same<T>::type;  // blocks deduction from the value

template <size_t N> struct BitsOf;
template <> struct BitsOf<2> { using type = uint16_t; };
template <> struct BitsOf<4> { using type = uint32_t; };
template <> struct BitsOf<8> { using type = uint64_t; };

// Atomically replaces *p by f(*p); returns the old value.
template <typename T, typename F>
inline T atomic_update(T* p, F f) {
    using U = typename BitsOf<sizeof(T)>::type;
    U* q = reinterpret_cast<U*>(p);
    U old = __atomic_load_n(q, __ATOMIC_RELAXED);
    for (;;) {
        const T cur = dk_emu_bit_cast<T>(old);
        if (__atomic_compare_exchange_n(q, &old, dk_emu_bit_cast<U>(T(f(cur))), true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return cur;
    }
}
}  // namespace dk::emu::rt

template <typename T>
inline T atomicAdd(T* p, dk::emu::rt::same_t<T> v) {
    if constexpr (std::is_integral<T>::value) return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    else return dk::emu::rt::atomic_update(p, [v](T c) { return c + v; });
}
template <typename T>
inline T atomicSub(T* p, dk::emu::rt::same_t<T> v) {
    static_assert(std::is_integral<T>::value, "atomicSub takes int or unsigned");
    return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED);
}
template <typename T>
inline T atomicMin(T* p, dk::emu::rt::same_t<T> v) {
    return dk::emu::rt::atomic_update(p, [v](T c) { return v < c ? v : c; });
}
template <typename T>
inline T atomicMax(T* p, dk::emu::rt::same_t<T> v) {
    return dk::emu::rt::atomic_update(p, [v](T c) { return c < v ? v : c; });
}
template <typename T>
inline T atomicExch(T* p, dk::emu::rt::same_t<T> v) {
    return dk::emu::rt::atomic_update(p, [v](T) { return v; });
}
template <typename T>
inline T atomicCAS(T* p, dk::emu::rt::same_t<T> compare, dk::emu::rt::same_t<T> v) {
    __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return compare;  // the old value either way
}
template <typename T>
inline T atomicAnd(T* p, dk::emu::rt::same_t<T> v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }
template <typename T>
inline T atomicOr(T* p, dk::emu::rt::same_t<T> v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
template <typename T>
inline T atomicXor(T* p, dk::emu::rt::same_t<T> v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicInc(unsigned* p, unsigned limit) {
    return dk::emu::rt::atomic_update(p, [limit](unsigned c) { return c >= limit ? 0u : c + 1; });
}
inline unsigned atomicDec(unsigned* p, unsigned limit) {
    return dk::emu::rt::atomic_update(p, [limit](unsigned c) { return (c == 0 || c > limit) ? limit : c - 1; });
}

// ---- barriers: the call site (file, line) identifies the barrier ----
inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    dk::emu::rt::barrier(file, line, 0, "__syncthreads");
}
inline int __syncthreads_count(int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return dk::emu::rt::barrier(file, line, pred, "__syncthreads_count");
}
inline int __syncthreads_and(int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return dk::emu::rt::barrier(file, line, pred, "__syncthreads_and") == int(blockDim.x * blockDim.y * blockDim.z);
}
inline int __syncthreads_or(int pred, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return dk::emu::rt::barrier(file, line, pred, "__syncthreads_or") != 0;
}

// ---- warp collectives ----
namespace dk::emu::rt {
enum class ShuffleMode { idx, up, down, bfly };
uint64_t shuffle(ShuffleMode mode, unsigned mask, uint64_t value, unsigned arg, int width);
enum class VoteMode { ballot, any, all };
unsigned vote(VoteMode mode, unsigned mask, int predicate);

template <typename T>
inline T shuffle_as(ShuffleMode mode, unsigned mask, T var, unsigned arg, int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffles move up to 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &var, sizeof(T));
    bits = shuffle(mode, mask, bits, arg, width);
    std::memcpy(&var, &bits, sizeof(T));
    return var;
}
}  // namespace dk::emu::rt

inline void __syncwarp(unsigned mask = 0xffffffffu) {
    dk::emu::rt::warp_collective("__syncwarp", mask, nullptr, [](void* const*, unsigned) {});
}
template <typename T>
inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
    return dk::emu::rt::shuffle_as(dk::emu::rt::ShuffleMode::idx, mask, var, unsigned(src_lane), width);
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    return dk::emu::rt::shuffle_as(dk::emu::rt::ShuffleMode::up, mask, var, delta, width);
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    return dk::emu::rt::shuffle_as(dk::emu::rt::ShuffleMode::down, mask, var, delta, width);
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
    return dk::emu::rt::shuffle_as(dk::emu::rt::ShuffleMode::bfly, mask, var, unsigned(lane_mask), width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    return dk::emu::rt::vote(dk::emu::rt::VoteMode::ballot, mask, pred);
}
inline int __any_sync(unsigned mask, int pred) { return int(dk::emu::rt::vote(dk::emu::rt::VoteMode::any, mask, pred)); }
inline int __all_sync(unsigned mask, int pred) { return int(dk::emu::rt::vote(dk::emu::rt::VoteMode::all, mask, pred)); }
inline unsigned __activemask() { return dk::emu::rt::active_mask(); }
