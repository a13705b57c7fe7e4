// emu/dialect.h - CUDA's kernel vocabulary for a host compiler (the emu build, DK_EMU).
//
// Included by portable.cuh instead of cuda_runtime.h. It must come before any CUDA header (there
// are none in the emu build): CUDA's host_defines.h defines __shared__ as empty under a host
// compiler, which would silently make shared arrays per-thread.
//   qualifiers       __global__ __device__ __host__ vanish; __forceinline__ forces inlining
//   __shared__       refused: a static shared array is declared with DK_SHARED(T, name, dims)
//                    (portable.cuh), which the emulator bounds-checks, poisons for every block
//                    and counts against the limits (emu/shared.h), as it does DK_DYNAMIC_SHARED
//   indices          threadIdx, blockIdx, blockDim, gridDim (emu/runtime.h)
//   the rest         emu/types.h (dim3, vectors, half types), emu/intrinsics.h (math, atomics,
//                    barriers, warp collectives)
// The one launch helper (dk::launch) calls dk::emu::launch_grid below.
#pragma once

#include <cstdio>
#include <string>
#include <tuple>
#include <utility>

#include "deepkern/emu/intrinsics.h"
#include "deepkern/emu/runtime.h"
#include "deepkern/emu/shared.h"
#include "deepkern/emu/types.h"

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __shared__ _Pragma("GCC error \"declare static shared arrays with DK_SHARED(T, name, dims): the emulator checks those\"")

namespace dk::emu {

// Runs kernel(args...) for every thread of the grid (see native/emu/scheduler.cpp).
template <typename... Params, typename... Args>
void launch_grid(const Exec& ex, const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                 size_t shared_bytes, Args&&... args) {
    struct Call {
        void (*kernel)(Params...);
        std::tuple<Params...> args;
        static void run(const void* self) {
            const Call* c = static_cast<const Call*>(self);
            std::apply(c->kernel, c->args);  // each thread gets its own copies of the parameters
        }
    };
    const Call call{kernel, std::tuple<Params...>(std::forward<Args>(args)...)};
    rt::run_grid(ex, rt::Launch{name, reinterpret_cast<const void*>(kernel), grid, block, shared_bytes, &Call::run, &call});
}

// The kernel's opt-in to more than rt::kSharedWithoutOptIn bytes of dynamic shared memory
// (cudaFuncAttributeMaxDynamicSharedMemorySize on CUDA).
template <typename... Params>
void set_max_dynamic_shared(void (*kernel)(Params...), size_t bytes) {
    rt::set_max_dynamic_shared(reinterpret_cast<const void*>(kernel), bytes);
}

}  // namespace dk::emu
