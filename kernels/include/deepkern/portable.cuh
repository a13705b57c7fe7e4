// portable.cuh - the dialect every kernel in kernels/ is written in.
//
// Under nvcc it is plain CUDA. Under a host compiler (the emu build, DK_EMU) it maps the same
// vocabulary - qualifiers, thread indices, shared memory (DK_SHARED, DK_DYNAMIC_SHARED), barriers,
// warp collectives, atomics, intrinsics - onto the kernel emulator (deepkern/emu/, native/emu), so
// one source serves both backends. Tensor cores and async copies have their wrappers in mma.cuh and async_copy.cuh.
// Kernels include this header and numeric.cuh and nothing else from CUDA.
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#elif defined(DK_EMU)
#include "deepkern/emu/dialect.h"
#else
#error "portable.cuh: compile with nvcc or define DK_EMU for the emulator build"
#endif

#include "deepkern/numeric.cuh"
#include "deepkern/backend.h"
#include "deepkern/error.h"

// DK_DYNAMIC_SHARED(T, name): the block's dynamic shared memory (the launch's shared_bytes) as an
// array of T, 16-byte aligned. Under nvcc a T*; in the emu build an array whose indexing is
// bounds-checked and which converts to T*. Every use in one kernel names the same memory.
#if defined(__CUDACC__)
#define DK_DYNAMIC_SHARED(T, name)                                        \
    extern __shared__ __align__(16) unsigned char dk_dynamic_shared_[];   \
    T* name = reinterpret_cast<T*>(dk_dynamic_shared_)
#else
#define DK_DYNAMIC_SHARED(T, name) const ::dk::emu::rt::SharedArray<T> name(#name)
#endif

// DK_SHARED(T, name, dims): a static shared array, `__shared__ T name dims` (dims such as [64][65],
// or empty for one T), 16-byte aligned. The emu build checks every index of it, poisons it for
// every block and counts it against the shared memory limits (emu/shared.h); it refuses a bare
// __shared__.
#if defined(__CUDACC__)
#define DK_SHARED(T, name, dims) __shared__ __align__(16) T name dims
#else
#define DK_SHARED(T, name, dims)                                                    \
    static thread_local ::dk::emu::rt::StaticShared<T dims> dk_shared_##name##_;    \
    decltype(auto) name = dk_shared_##name##_.view(#name)
#endif

namespace dk {

// opaque(v): v, with everything the compiler knows of it forgotten. For a per-iteration base
// address in a long loop whose unrolled body adds constant offsets to it: without it the compiler
// precomputes every base-plus-offset ahead of the loop and holds each in a register (the inline
// PTX of ldmatrix takes a register address, so the offsets cannot fold into immediates).
__device__ __forceinline__ int opaque(int v) {
#if defined(__CUDACC__)
    asm volatile("" : "+r"(v));
#endif
    return v;
}

// atomic_add2(p, a, b): p[0] += a and p[1] += b in global memory, each atomically (not the pair as
// one): red.global.add.v2.f32 on sm_90+, one request for both; two scalar reductions before. p is
// 8-byte aligned (the emulator refuses it otherwise, as the vector instruction would).
__device__ __forceinline__ void atomic_add2(float* p, float a, float b) {
#if defined(__CUDACC__) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(p), "f"(a), "f"(b) : "memory");
#else
#if !defined(__CUDACC__)
    if (reinterpret_cast<uintptr_t>(p) % 8 != 0)
        emu::rt::kernel_error("red.global.add.v2.f32: the address is not 8-byte aligned");
#endif
    atomicAdd(p, a);
    atomicAdd(p + 1, b);
#endif
}

// Grid size for a grid-stride loop over `work` items: enough blocks to fill the machine a few
// times over, never more than the work needs.
inline unsigned grid_for(const Exec& ex, int64_t work, int threads, int blocks_per_sm = 8) {
    int64_t need = (work + threads - 1) / threads;
    int64_t cap = int64_t(ex.multiprocessors) * blocks_per_sm;
    int64_t g = need < cap ? need : cap;
    return unsigned(g < 1 ? 1 : g);
}

// The one launch helper: every kernel launch in kernels/ goes through here. Dynamic shared memory
// past the 48 KB any launch may take is opted into first, as CUDA requires (the emulator refuses a
// launch without the opt-in).
template <typename... Params, typename... Args>
void launch(const Exec& ex, const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
            size_t shared_bytes, Args... args) {
#if defined(__CUDACC__)
    if (shared_bytes > DK_SHARED_WITHOUT_OPT_IN) {
        cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared_bytes));
        if (err != cudaSuccess)
            throw Error(DK_ERROR_DEVICE, std::string("launch of ") + name + ": opting into " +
                                             std::to_string(shared_bytes) + " bytes of dynamic shared memory failed: " +
                                             cudaGetErrorString(err));
    }
    kernel<<<grid, block, shared_bytes, static_cast<cudaStream_t>(ex.stream)>>>(
        static_cast<Params>(args)...);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        throw Error(DK_ERROR_DEVICE, std::string("launch of ") + name + " failed: " +
                                         cudaGetErrorString(err));
#else
    if (shared_bytes > DK_SHARED_WITHOUT_OPT_IN) emu::set_max_dynamic_shared(kernel, shared_bytes);
    emu::launch_grid(ex, name, kernel, grid, block, shared_bytes, static_cast<Params>(args)...);
#endif
}

}  // namespace dk
