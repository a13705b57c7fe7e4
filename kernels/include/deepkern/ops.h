// ops.h - the backend interface: what native/src's dispatch calls after validation.
//
// The same list is declared in three namespaces: dk::cpu (native/src/cpu), dk::cuda (kernels/
// built by nvcc) and dk::emu (the same kernels/ sources built against the emulator). Arguments
// arrive validated: pointers are device pointers of the backend, sizes are non-negative and
// compact. Failures throw dk::Error.
#pragma once

#include <cstdint>

namespace dk {

enum class DType : int32_t { f32, f16, bf16, i32, i64 };

struct EmuOptions;

// Where a launch runs: the stream of the context (cuda) and the launch options (emu).
struct Exec {
    void* stream = nullptr;          // cudaStream_t on cuda
    int multiprocessors = 1;         // SMs on cuda, worker threads on cpu and emu
    const EmuOptions* emu = nullptr;
};

}  // namespace dk

#define DK_DECLARE_BACKEND_OPS(ns)                                                          \
    namespace dk {                                                                          \
    namespace ns {                                                                          \
    void fill(const Exec&, DType, void* out, int64_t n, double value);                      \
    void cast(const Exec&, DType from, const void* x, DType to, void* out, int64_t n);      \
    void randn(const Exec&, DType, void* out, int64_t n, uint64_t seed, uint64_t offset);   \
    void gelu(const Exec&, DType, const void* x, void* out, int64_t n, int approximation);  \
    void roofline_fma(const Exec&, float* out, int64_t n, int iterations);                  \
    }                                                                                       \
    }

DK_DECLARE_BACKEND_OPS(cpu)
DK_DECLARE_BACKEND_OPS(cuda)
DK_DECLARE_BACKEND_OPS(emu)
