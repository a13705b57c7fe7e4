// emu/runtime.h - the interface between emulated kernels and the emulator runtime
// (native/emu): the thread's identity, the launch entry, barriers, warp collectives, async
// copies, mbarriers, named barriers and the strict-check failure.
//
// Execution model: a block runs on one OS thread, its threads as fibers. threadIdx & co. are
// per-OS-thread variables the scheduler rewrites before resuming a fiber; a fiber never moves to
// another OS thread. Thread-locals use the default dynamic TLS model: initial-exec would be faster,
// but it forces the module's whole TLS block (the kernels' static __shared__ arrays included,
// kilobytes) into glibc's small static-TLS surplus, and dlopen - how the JVM loads us - then
// fails with "cannot allocate memory in static TLS block". The build uses TLS descriptors
// (-mtls-dialect=gnu2), which glibc resolves to near-static cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "deepkern/emu/options.h"
#include "deepkern/emu/types.h"
#include "deepkern/backend.h"

inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

namespace dk::emu::rt {

// One kernel launch: body(closure) runs the kernel for the current thread.
struct Launch {
    const char* name;
    const void* kernel;  // the kernel function, for its opt-in (set_max_dynamic_shared)
    dim3 grid, block;
    size_t shared_bytes;
    void (*body)(const void* closure);
    const void* closure;
};

// Dynamic shared memory every launch may take; more needs the kernel's opt-in, as on CUDA.
constexpr size_t kSharedWithoutOptIn = DK_SHARED_WITHOUT_OPT_IN;

// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes): lets launches
// of kernel take up to bytes of dynamic shared memory (still within the options' shared_limit).
void set_max_dynamic_shared(const void* kernel, size_t bytes);

// Runs every block of the launch; throws dk::Error(DK_ERROR_KERNEL) when a strict check fails.
void run_grid(const Exec& ex, const Launch& launch);

// Fails the launch: "kernel 'k', block (x,y,z), thread (x,y,z): message".
[[noreturn]] void kernel_error(const std::string& message);

// Fails the launch when the emulated GPU (dk_emu_options.compute_capability) is older than sm_90:
// the sm_90 instructions (wgmma, TMA, setmaxnreg, elect.sync, mbarrier's tx and try_wait forms)
// call it, so a Hopper kernel chosen for another GPU is caught as the GPU would refuse it.
void require_sm90(const char* instruction);

// The block's dynamic shared memory (the launch's shared_bytes), per OS thread.
struct DynamicShared {
    unsigned char* base;
    size_t bytes;
};
inline thread_local DynamicShared dynamic_shared;

// __syncthreads and its _count/_and/_or forms: every thread of the block must arrive at the same
// call site. Returns how many threads passed a non-zero predicate.
int barrier(const char* file, int line, int predicate, const char* what);

// A warp collective: the calling lane contributes `slot` and waits until every lane of `mask` has
// arrived at a collective of the same kind and mask; the last to arrive runs complete(slots, mask)
// with slots[lane] of every lane in mask, then all continue.
using Complete = void (*)(void* const* slots, unsigned mask);
void warp_collective(const char* what, unsigned mask, void* slot, Complete complete);
unsigned active_mask();

// cp.async: copies are recorded and land when a wait_group retires their group; a null src
// lands as zeros (cp.async with src-size 0).
void cp_async(void* dst, const void* src, int bytes);
void cp_async_commit();
void cp_async_wait(int pending_groups);

// mbarrier (deepkern/pipeline_sync.cuh): the emulator keeps each initialized barrier's phase, pending
// arrivals and transaction bytes beside the block, keyed by address, and mirrors them in the 8-byte
// word, so a plain store over a live barrier is caught at its next use. arrive() applies expect_tx
// (tx_bytes) then `count` arrivals and returns the token of the phase it arrived on; wait_parity()
// suspends the thread until the phase of that parity has completed.
void mbarrier_init(void* bar, unsigned count);
uint64_t mbarrier_arrive(void* bar, unsigned count, uint32_t tx_bytes);
void mbarrier_expect_tx(void* bar, uint32_t tx_bytes);
void mbarrier_complete_tx(void* bar, uint32_t tx_bytes);
bool mbarrier_test_parity(void* bar, unsigned parity);
void mbarrier_wait_parity(void* bar, unsigned parity);
// An asynchronous copy of `bytes` that completes them on bar (a TMA load): land() performs it when a
// thread tests bar (try_wait) or, for threads blocked waiting on bar, when no thread can run - as
// late as it may, so data read without waiting for it is still poison.
void mbarrier_defer_tx(void* bar, uint32_t bytes, std::function<void()> land);

// bar.sync / bar.arrive id, threads: barrier id (1..15) completes when `threads` threads have
// arrived; wait: the thread suspends until then.
void named_barrier(unsigned id, unsigned threads, bool wait);

// setmaxnreg.inc / .dec N: a collective of the whole warp, in a block of whole warpgroups.
void setmaxnreg(bool inc, int registers);

// The async proxy's view of dynamic shared memory (what TMA stores and wgmma read): fence.proxy.async
// makes the block's plain writes so far part of it; async_proxy_wrote records an async write (a TMA
// load) that landed, with the swizzle span it was written in (0: none, 32, 64, 128); async_proxy_read
// fails when the bytes read differ from the view - written through the generic proxy (plain stores,
// cp.async) with no fence.proxy.async since - or, given a span (>= 0), were written by TMA in another.
void fence_proxy_async();
void async_proxy_wrote(uint32_t offset, size_t bytes, int swizzle_span);
void async_proxy_read(uint32_t offset, size_t bytes, const char* what, int swizzle_span = -1);

// elect.sync: true in one lane of mask, every lane of which must arrive. Which lane follows the
// schedule order (lowest forward, highest reverse, a seeded one random), so a kernel that assumes
// lane 0 is caught.
bool elect_sync(unsigned mask);

}  // namespace dk::emu::rt
