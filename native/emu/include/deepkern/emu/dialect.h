// emu/dialect.h - CUDA's kernel vocabulary for a host compiler (the emu build, DK_EMU).
//
// Included by portable.cuh instead of cuda_runtime.h. It must come before any CUDA header (there
// are none in the emu build): CUDA's host_defines.h defines __shared__ as empty under a host
// compiler, which would silently make shared arrays per-thread.
//   qualifiers       __global__ __device__ __host__ vanish; __forceinline__ forces inlining
//   __shared__       static thread_local: one copy per OS thread, and an OS thread runs one block
//                    at a time, so every thread of the block sees the same array. Its size is
//                    invisible to the emulator: only dynamic shared memory counts against the
//                    shared_limit option and is bounds-checked, and static arrays are not
//                    poisoned between blocks (dynamic shared memory is, with 0xff bytes)
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
#include "deepkern/emu/types.h"

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __shared__ static thread_local

namespace dk::emu {

namespace rt {
// The array behind DK_DYNAMIC_SHARED: indexing is bounds-checked against the launch's
// shared_bytes; it converts to T* where a kernel needs a pointer.
template <typename T>
class SharedArray {
public:
    explicit SharedArray(const char* name)
        : data_(reinterpret_cast<T*>(dynamic_shared.base)), size_(dynamic_shared.bytes / sizeof(T)), name_(name) {}

    template <typename I>
    T& operator[](I i) const {
        if (i < 0 || uint64_t(i) >= size_) out_of_bounds(int64_t(i));
        return data_[i];
    }
    operator T*() const { return data_; }

private:
    [[noreturn]] void out_of_bounds(int64_t i) const {
        kernel_error("dynamic shared memory access " + std::string(name_) + "[" + std::to_string(i) +
                     "] out of bounds: the launch gave " + std::to_string(size_) + " elements of " +
                     std::to_string(sizeof(T)) + " bytes (" + std::to_string(dynamic_shared.bytes) + " bytes)");
    }
    T* data_;
    uint64_t size_;
    const char* name_;
};
}  // namespace rt

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
