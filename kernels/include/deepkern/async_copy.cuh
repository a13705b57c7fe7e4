// async_copy.cuh - cp.async (global -> shared without registers) for pipelined kernels.
//
//   cp_async<Bytes, CacheOp::ca|cg>(smem, gmem)   one copy of 4, 8 or 16 bytes (.cg: 16 only);
//                                                 both addresses aligned to Bytes
//   cp_async_zfill(smem, gmem, valid)             16 bytes like cp_async<16, cg> when valid, else 16
//                                                 zero bytes and no read (src-size 0): tile edges
//   cp_async_commit()                             closes the thread's current group of copies
//   cp_async_wait<N>()                            waits until at most N of the thread's committed
//                                                 groups are still in flight
//   cp_async_wait_all()                           commit + wait<0>
// A copy is visible to the issuing thread after its wait, and to other threads of the block only
// after that plus a __syncthreads.
//
// In the emu build a copy is recorded, not performed: its bytes land when a wait retires its
// group, so a kernel that reads shared memory before waiting sees the stale (poisoned) data just
// as it may on the GPU. Copies never waited for are dropped when the thread exits.
#pragma once

#include "deepkern/portable.cuh"

namespace dk {

enum class CacheOp { ca, cg };  // .ca: cache in L1 and L2; .cg: L2 only

template <int Bytes, CacheOp Op = CacheOp::ca>
__device__ __forceinline__ void cp_async(void* smem, const void* gmem) {
    static_assert(Bytes == 4 || Bytes == 8 || Bytes == 16, "cp.async copies 4, 8 or 16 bytes");
    static_assert(Op == CacheOp::ca || Bytes == 16, "cp.async.cg copies 16 bytes");
#if defined(__CUDACC__)
    const unsigned dst = unsigned(__cvta_generic_to_shared(smem));
    if constexpr (Op == CacheOp::cg)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem));
    else
        asm volatile("cp.async.ca.shared.global [%0], [%1], %2;\n" ::"r"(dst), "l"(gmem), "n"(Bytes));
#else
    emu::rt::cp_async(smem, gmem, Bytes);
#endif
}

// gmem is not read when !valid, but must still be an address in the operand (e.g. its base).
__device__ __forceinline__ void cp_async_zfill(void* smem, const void* gmem, bool valid) {
#if defined(__CUDACC__)
    const unsigned dst = unsigned(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 16 : 0));
#else
    emu::rt::cp_async(smem, valid ? gmem : nullptr, 16);
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDACC__)
    asm volatile("cp.async.commit_group;\n" ::);
#else
    emu::rt::cp_async_commit();
#endif
}

template <int N>
__device__ __forceinline__ void cp_async_wait() {
    static_assert(N >= 0, "cp_async_wait: N >= 0");
#if defined(__CUDACC__)
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#else
    emu::rt::cp_async_wait(N);
#endif
}

__device__ __forceinline__ void cp_async_wait_all() {
#if defined(__CUDACC__)
    asm volatile("cp.async.wait_all;\n" ::: "memory");
#else
    emu::rt::cp_async_commit();
    emu::rt::cp_async_wait(0);
#endif
}

}  // namespace dk
