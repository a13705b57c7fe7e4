// pipeline_sync.cuh - the synchronization of warp-specialized pipelines (Hopper's producer /
// consumer kernels: a producer's copies complete bytes on a barrier that consumers wait on, the
// consumers release the stage through another and sync among themselves without the producer):
// transaction barriers in shared memory (PTX ISA "mbarrier"), named barriers over a subset of the
// block, and elect.sync. sm_90 forms (expect_tx, complete_tx, try_wait.parity, elect.sync):
// kernels using them build for sm_90a.
//
//   mbarrier_init(bar, count)          a barrier expecting `count` arrivals per phase, in [1, 2^20 - 1];
//                                      visible to the block after a __syncthreads
//   mbarrier_arrive(bar[, count])      count arrivals on the current phase; returns its token
//   mbarrier_arrive_expect_tx(bar, b)  the current phase also waits for b transaction bytes, then
//                                      one arrival (what a producer does before issuing its copies)
//   mbarrier_expect_tx(bar, b)         b more transaction bytes, no arrival
//   mbarrier_complete_tx(bar, b)       b of them done (a copy engine's part; for tests and
//                                      producers that copy through registers)
//   mbarrier_try_wait_parity(bar, p)   whether the phase of parity p (the current one's or the one
//                                      before it) has completed
//   mbarrier_wait_parity(bar, p)       waits until it has
//   named_barrier_sync(id, threads)    bar.sync: waits until `threads` threads (whole warps) have
//                                      reached barrier id (1..15; 0 is __syncthreads')
//   named_barrier_arrive(id, threads)  bar.arrive: counts toward it without waiting (a producer
//                                      signalling consumers)
//   elect_one_sync()                   true in exactly one lane of the (whole) warp
//   fence_proxy_async()                orders the thread's plain shared-memory writes (stores,
//                                      cp.async) before the async proxy's reads of them: TMA stores
//                                      and wgmma operands the threads wrote need one
//   setmaxnreg<Inc, N>()               the calling warpgroup's register budget per thread raised
//                                      (Inc) or lowered to N, a multiple of 8 in [24, 256]: a
//                                      producer warpgroup gives registers to the consumers
//
// A phase completes when its arrivals and its transaction bytes are both done; the next begins with
// the expected count again. A consumer of stage s at iteration i waits with parity (i / stages) & 1.
//
// In the emu build each barrier's state lives beside the block: using an mbarrier before its init,
// a plain store over it, arriving more often than the phase has arrivals pending, threads of one
// named barrier disagreeing on its count, and a wait no thread can complete (a wrong parity,
// expect_tx bytes that never arrive, too few threads at a named barrier) fail with kernel, block
// and thread named; elect.sync picks its lane by the schedule order, so no kernel may assume lane 0;
// an async read of shared bytes written with no fence_proxy_async since fails (emu/runtime.h). A
// try_wait that finds its phase incomplete yields to the other threads there (fibers are not
// preempted), and one polled 100000 times in a row with nothing completing it is a deadlock. Under
// the REVERSE schedule (RANDOM: a seeded draw) an arrival that completes a phase yields to the
// threads it wakes, so a consumer that releases a stage before it is done with it meets the refill.
#pragma once

#include <cstdint>

#include "deepkern/portable.cuh"

namespace dk {

__device__ __forceinline__ void mbarrier_init(uint64_t* bar, unsigned count) {
#if defined(__CUDACC__)
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(unsigned(__cvta_generic_to_shared(bar))), "r"(count)
                 : "memory");
#else
    emu::rt::mbarrier_init(bar, count);
#endif
}

__device__ __forceinline__ uint64_t mbarrier_arrive(uint64_t* bar, unsigned count = 1) {
    uint64_t token;
#if defined(__CUDACC__)
    asm volatile("mbarrier.arrive.release.cta.shared::cta.b64 %0, [%1], %2;\n"
                 : "=l"(token)
                 : "r"(unsigned(__cvta_generic_to_shared(bar))), "r"(count)
                 : "memory");
#else
    token = emu::rt::mbarrier_arrive(bar, count, 0);
#endif
    return token;
}

__device__ __forceinline__ uint64_t mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
    uint64_t token;
#if defined(__CUDACC__)
    asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 %0, [%1], %2;\n"
                 : "=l"(token)
                 : "r"(unsigned(__cvta_generic_to_shared(bar))), "r"(bytes)
                 : "memory");
#else
    token = emu::rt::mbarrier_arrive(bar, 1, bytes);
#endif
    return token;
}

__device__ __forceinline__ void mbarrier_expect_tx(uint64_t* bar, uint32_t bytes) {
#if defined(__CUDACC__)
    asm volatile("mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n" ::"r"(
                     unsigned(__cvta_generic_to_shared(bar))),
                 "r"(bytes)
                 : "memory");
#else
    emu::rt::mbarrier_expect_tx(bar, bytes);
#endif
}

__device__ __forceinline__ void mbarrier_complete_tx(uint64_t* bar, uint32_t bytes) {
#if defined(__CUDACC__)
    asm volatile("mbarrier.complete_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n" ::"r"(
                     unsigned(__cvta_generic_to_shared(bar))),
                 "r"(bytes)
                 : "memory");
#else
    emu::rt::mbarrier_complete_tx(bar, bytes);
#endif
}

__device__ __forceinline__ bool mbarrier_try_wait_parity(uint64_t* bar, unsigned parity) {
#if defined(__CUDACC__)
    unsigned done;
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(unsigned(__cvta_generic_to_shared(bar))), "r"(parity)
        : "memory");
    return done != 0;
#else
    return emu::rt::mbarrier_test_parity(bar, parity);
#endif
}

__device__ __forceinline__ void mbarrier_wait_parity(uint64_t* bar, unsigned parity) {
#if defined(__CUDACC__)
    while (!mbarrier_try_wait_parity(bar, parity)) {
    }
#else
    emu::rt::mbarrier_wait_parity(bar, parity);  // suspends the thread until the phase completes
#endif
}

__device__ __forceinline__ void named_barrier_sync(unsigned id, unsigned threads) {
#if defined(__CUDACC__)
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
#else
    emu::rt::named_barrier(id, threads, true);
#endif
}

__device__ __forceinline__ void named_barrier_arrive(unsigned id, unsigned threads) {
#if defined(__CUDACC__)
    asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
#else
    emu::rt::named_barrier(id, threads, false);
#endif
}

__device__ __forceinline__ void fence_proxy_async() {
#if defined(__CUDACC__)
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#else
    emu::rt::fence_proxy_async();
#endif
}

__device__ __forceinline__ bool elect_one_sync() {
#if defined(__CUDACC__)
    unsigned elected;
    asm volatile("{\n .reg .pred p;\n elect.sync _|p, 0xffffffff;\n selp.u32 %0, 1, 0, p;\n}\n" : "=r"(elected));
    return elected != 0;
#else
    return emu::rt::elect_sync(0xffffffffu);
#endif
}

// Every thread of the warpgroup (4 consecutive warps, the block a whole number of them) executes
// the same form: emu checks it as a collective of each warp and the block's size.
template <bool Inc, int N>
__device__ __forceinline__ void setmaxnreg() {
    static_assert(N % 8 == 0 && N >= 24 && N <= 256, "setmaxnreg: a multiple of 8 in [24, 256]");
#if defined(__CUDACC__)
    if constexpr (Inc)
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
    else
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
#else
    emu::rt::setmaxnreg(Inc, N);
#endif
}

}  // namespace dk
