// wgmma.cuh - Hopper's asynchronous warpgroup matrix multiply (PTX ISA "Asynchronous Warpgroup
// Level Matrix Multiply-Accumulate"), sm_90a: D[64 x N] f32 (+)= A[64 x 16] B[16 x N], f16 / bf16.
//
//   wgmma_descriptor(tile, swizzle, lbo, sbo)   the 64-bit matrix descriptor of an operand tile in
//                                               dynamic shared memory (16-byte aligned start,
//                                               leading / stride byte offsets, swizzle mode)
//   wgmma_fence()                               orders the thread's register accesses before the
//                                               products after it: before the first product and
//                                               after every wait whose accumulators are touched
//   wgmma_ss<T, N, TransA, TransB>(d, a, b, acc)  A and B from descriptors
//   wgmma_rs<T, N, TransB>(d, a, b, acc)        A from 4 registers (mma.m16n8k16's A fragment of
//                                               the warp's 16 rows), B from a descriptor
//   wgmma_commit_group() / wgmma_wait_group<N>() the products issued since the last commit form a
//                                               group; the wait returns when at most N groups are
//                                               in flight, and only then do their accumulators hold
//                                               the results
//
// Every thread of the warpgroup (4 consecutive warps) executes each of these. d is the thread's
// N / 2 accumulators: d[i] = D[16 w + g + 8 ((i % 4) / 2)][8 (i / 4) + 2 t + i % 2] for lane 4 g + t of
// the group's warp w. Trans: the operand is MN-major (else K-major; see native/emu/wgmma.cpp for
// the canonical layouts each descriptor describes). acc = false: D = A B.
//
// The emu build computes each product at issue from the shared memory its descriptors name and
// lands it at the wait (accumulators poisoned until then); it fails on a missing fence, a
// descriptor reading past dynamic shared memory, shared memory or accumulators changed while a
// product that uses them is in flight (emu/wgmma.h), and on operands the threads wrote with no
// fence_proxy_async (pipeline_sync.cuh) since. On CUDA the instruction is wrapped for N = 8, 16, 32,
// 64, 128 and 256 (the shapes tiles use); emu takes every multiple of 8.
#pragma once

#include <cstdint>
#include <type_traits>

#include "deepkern/portable.cuh"
#if !defined(__CUDACC__)
#include "deepkern/emu/wgmma.h"
#endif

namespace dk {

enum class WgmmaSwizzle : uint64_t { none = 0, b128 = 1, b64 = 2, b32 = 3 };

__device__ __forceinline__ uint64_t wgmma_descriptor(const void* tile, WgmmaSwizzle swizzle, uint32_t lbo_bytes,
                                                     uint32_t sbo_bytes) {
#if defined(__CUDACC__)
    const uint32_t start = uint32_t(__cvta_generic_to_shared(tile));
#else
    const uint32_t start = emu::rt::shared_address(tile);
#endif
    auto encode = [](uint32_t x) { return uint64_t((x & 0x3ffffu) >> 4); };
    return encode(start) | encode(lbo_bytes) << 16 | encode(sbo_bytes) << 32 | uint64_t(swizzle) << 62;
}

__device__ __forceinline__ void wgmma_fence() {
#if defined(__CUDACC__)
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#else
    emu::rt::wgmma_fence();
#endif
}

__device__ __forceinline__ void wgmma_commit_group() {
#if defined(__CUDACC__)
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#else
    emu::rt::wgmma_commit();
#endif
}

template <int N>
__device__ __forceinline__ void wgmma_wait_group() {
    static_assert(N >= 0 && N <= 7, "wgmma.wait_group: 0 .. 7 groups in flight");
#if defined(__CUDACC__)
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#else
    emu::rt::wgmma_wait(N);
#endif
}

#if defined(__CUDACC__)
// The accumulator operands of the PTX wrappers: "{%0, ..}" and the matching "+f" list.
#define DK_WGMMA_D4 "{%0, %1, %2, %3}"
#define DK_WGMMA_D8 "{%0, %1, %2, %3, %4, %5, %6, %7}"
#define DK_WGMMA_D16 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}"
#define DK_WGMMA_D32                                                                                       \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, " \
    "%22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define DK_WGMMA_D64 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, " \
    "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, " \
    "%37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, " \
    "%55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define DK_WGMMA_D128 \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, " \
    "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, " \
    "%37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, " \
    "%55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, " \
    "%73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, " \
    "%91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, " \
    "%107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, " \
    "%122, %123, %124, %125, %126, %127}"
#define DK_WGMMA_F4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define DK_WGMMA_F8(i) DK_WGMMA_F4(i), DK_WGMMA_F4(i + 4)
#define DK_WGMMA_F16(i) DK_WGMMA_F8(i), DK_WGMMA_F8(i + 8)
#define DK_WGMMA_F32(i) DK_WGMMA_F16(i), DK_WGMMA_F16(i + 16)
#define DK_WGMMA_F64(i) DK_WGMMA_F32(i), DK_WGMMA_F32(i + 32)
#define DK_WGMMA_F128(i) DK_WGMMA_F64(i), DK_WGMMA_F64(i + 64)
// TYPE: f16 or bf16; A, B, P, ... name the operands after the accumulators (numbered from N / 2 on),
// the accumulators' "+f" list last.
#define DK_WGMMA_SS(N, TYPE, DLIST, A, B, P, TA, TB, ...)                                          \
    asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, " P ", 0;\n wgmma.mma_async.sync.aligned.m64n" #N \
                 "k16.f32." #TYPE "." #TYPE " " DLIST ", " A ", " B ", p, 1, 1, " TA ", " TB ";\n}\n"  \
                 : __VA_ARGS__                                                                             \
                 : "l"(a), "l"(b), "r"(unsigned(accumulate)), "n"(int(TransA)), "n"(int(TransB)))
#define DK_WGMMA_RS(N, TYPE, DLIST, A0, A1, A2, A3, B, P, TB, ...)                                   \
    asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, " P ", 0;\n wgmma.mma_async.sync.aligned.m64n" #N  \
                 "k16.f32." #TYPE "." #TYPE " " DLIST ", {" A0 ", " A1 ", " A2 ", " A3 "}, " B              \
                 ", p, 1, 1, " TB ";\n}\n"                                                            \
                 : __VA_ARGS__                                                                              \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(unsigned(accumulate)),      \
                   "n"(int(TransB)))
#endif

// The shapes and types wgmma takes here.
template <typename T, int N>
struct WgmmaShape {
    static_assert(std::is_same<T, f16>::value || std::is_same<T, bf16>::value, "wgmma: f16 or bf16 operands");
    static_assert(N % 8 == 0 && N >= 8 && N <= 256, "wgmma: N a multiple of 8 in [8, 256]");
    static constexpr bool kBf16 = std::is_same<T, bf16>::value;
};

template <typename T, int N, bool TransA, bool TransB>
__device__ __forceinline__ void wgmma_ss(float (&d)[N / 2], uint64_t a, uint64_t b, bool accumulate) {
    constexpr bool kBf16 = WgmmaShape<T, N>::kBf16;
#if defined(__CUDACC__)
    // the PTX names its type: one expansion per operand type
#define DK_WGMMA_SS_T(N, ...) \
    if constexpr (kBf16) DK_WGMMA_SS(N, bf16, __VA_ARGS__); \
    else DK_WGMMA_SS(N, f16, __VA_ARGS__)
    if constexpr (N == 8) { DK_WGMMA_SS_T(8, DK_WGMMA_D4, "%4", "%5", "%6", "%7", "%8", DK_WGMMA_F4(0)); }
    else if constexpr (N == 16) { DK_WGMMA_SS_T(16, DK_WGMMA_D8, "%8", "%9", "%10", "%11", "%12", DK_WGMMA_F8(0)); }
    else if constexpr (N == 32) { DK_WGMMA_SS_T(32, DK_WGMMA_D16, "%16", "%17", "%18", "%19", "%20", DK_WGMMA_F16(0)); }
    else if constexpr (N == 64) { DK_WGMMA_SS_T(64, DK_WGMMA_D32, "%32", "%33", "%34", "%35", "%36", DK_WGMMA_F32(0)); }
    else if constexpr (N == 128) { DK_WGMMA_SS_T(128, DK_WGMMA_D64, "%64", "%65", "%66", "%67", "%68", DK_WGMMA_F64(0)); }
    else if constexpr (N == 256) {
        DK_WGMMA_SS_T(256, DK_WGMMA_D128, "%128", "%129", "%130", "%131", "%132", DK_WGMMA_F128(0));
    }
    else static_assert(N <= 0, "wgmma_ss: on CUDA, N is 8, 16, 32, 64, 128 or 256");
#undef DK_WGMMA_SS_T
#else
    emu::rt::wgmma_issue({N, kBf16, nullptr, a, b, TransA, TransB, accumulate, d});
#endif
}

template <typename T, int N, bool TransB>
__device__ __forceinline__ void wgmma_rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t b, bool accumulate) {
    constexpr bool kBf16 = WgmmaShape<T, N>::kBf16;
#if defined(__CUDACC__)
#define DK_WGMMA_RS_T(N, ...) \
    if constexpr (kBf16) DK_WGMMA_RS(N, bf16, __VA_ARGS__); \
    else DK_WGMMA_RS(N, f16, __VA_ARGS__)
    if constexpr (N == 8) { DK_WGMMA_RS_T(8, DK_WGMMA_D4, "%4", "%5", "%6", "%7", "%8", "%9", "%10", DK_WGMMA_F4(0)); }
    else if constexpr (N == 16) {
        DK_WGMMA_RS_T(16, DK_WGMMA_D8, "%8", "%9", "%10", "%11", "%12", "%13", "%14", DK_WGMMA_F8(0));
    } else if constexpr (N == 32) {
        DK_WGMMA_RS_T(32, DK_WGMMA_D16, "%16", "%17", "%18", "%19", "%20", "%21", "%22", DK_WGMMA_F16(0));
    } else if constexpr (N == 64) {
        DK_WGMMA_RS_T(64, DK_WGMMA_D32, "%32", "%33", "%34", "%35", "%36", "%37", "%38", DK_WGMMA_F32(0));
    } else if constexpr (N == 128) {
        DK_WGMMA_RS_T(128, DK_WGMMA_D64, "%64", "%65", "%66", "%67", "%68", "%69", "%70", DK_WGMMA_F64(0));
    } else if constexpr (N == 256) {
        DK_WGMMA_RS_T(256, DK_WGMMA_D128, "%128", "%129", "%130", "%131", "%132", "%133", "%134", DK_WGMMA_F128(0));
    }
    else static_assert(N <= 0, "wgmma_rs: on CUDA, N is 8, 16, 32, 64, 128 or 256");
#undef DK_WGMMA_RS_T
#else
    emu::rt::wgmma_issue({N, kBf16, a, 0, b, false, TransB, accumulate, d});
#endif
}

}  // namespace dk
