// backend.h - what a backend is: the dtype and launch context every backend function takes, and
// how a family declares its functions once for the three backends.
//
// Each op family declares its backend functions in its own header (kernels/<family>/<family>.h)
// with DK_BACKEND_FUNCTIONS: the same list in dk::cpu (native/cpu), dk::cuda (kernels/ built by
// nvcc) and dk::emu (the same kernels/ sources built against the emulator). The C API
// (native/api) calls them after validation: pointers are device pointers of the backend, sizes
// are non-negative and compact. Failures throw dk::Error.
#pragma once

#include <cstdint>

#include "deepkern.h"

namespace dk {

enum class DType : int32_t { f32, f16, bf16, i32, i64 };

struct EmuOptions;

// An activation kind (deepkern.h dk_activation_kind, 0 = none) with its parameters: the element
// math of the activation family, applied by other families' epilogues too.
struct ActParams {
    int32_t kind;
    float alpha, beta;
};

// Where a launch runs: the stream of the context (cuda) and the launch options (emu).
struct Exec {
    void* stream = nullptr;          // cudaStream_t on cuda
    int multiprocessors = 1;         // SMs on cuda, a constant 16 on emu, worker threads on cpu
    int compute_capability = 0;      // cuda: the device's, major * 10 + minor (arch.cuh reads it)
    const EmuOptions* emu = nullptr;
};

// Row blocks of the bias-gradient reduction: enough to spread the rows over the machine, few
// enough that the second pass is small. The blocks are summed in order, so their number fixes the
// result's bits: on a GPU (compute_capability set) it follows the SMs; on cpu, whose
// multiprocessors are the worker threads (DEEPKERN_NUM_THREADS), and on emu it is a constant, so
// that the gradient has the same bits on any number of threads.
inline int64_t bias_partial_rows(const Exec& ex, int64_t rows) {
    constexpr int64_t kHostBlocks = 64;
    const int64_t by_rows = (rows + 15) / 16;
    const int64_t cap = ex.compute_capability > 0 ? 4 * int64_t(ex.multiprocessors) : kHostBlocks;
    return by_rows < 1 ? 1 : (by_rows < cap ? by_rows : cap);
}

}  // namespace dk

// Declares a family's backend functions in dk::cpu, dk::cuda and dk::emu.
#define DK_BACKEND_FUNCTIONS(...)  \
    namespace dk {                 \
    namespace cpu {                \
    __VA_ARGS__                    \
    }                              \
    namespace cuda {               \
    __VA_ARGS__                    \
    }                              \
    namespace emu {                \
    __VA_ARGS__                    \
    }                              \
    }
