// selftest.h - the runtime self-tests (kernels/selftest/selftest.cu) as the backends see them: which test,
// and its validated tensors. Declared for cuda and emu; the cpu backend has none.
#pragma once

#include <cstdint>
#include "deepkern/backend.h"

namespace dk {

enum class SelfTest {
    block_reduce,
    warp_reduce,
    block_scan,
    shared_histogram,
    mma_gemm,
    cp_async_pipeline,
    bug_missing_barrier,
    bug_divergent_barrier,
    bug_bad_shuffle_mask
};

constexpr const char* kSelfTestNames[] = {
    "block_reduce", "warp_reduce", "block_scan", "shared_histogram", "mma_gemm", "cp_async_pipeline",
    "bug_missing_barrier", "bug_divergent_barrier", "bug_bad_shuffle_mask"};

struct SelfTestArgs {
    SelfTest test;
    DType dtype;     // of a (and b)
    const void* a;
    const void* b;   // null for one-input tests
    void* out;
    int64_t n;       // elements of a
    int64_t out_n;   // elements of out
};

}  // namespace dk

#define DK_DECLARE_SELFTEST(ns) \
    namespace dk::ns {          \
    void selftest(const Exec&, const SelfTestArgs&); \
    }

DK_DECLARE_SELFTEST(cuda)
DK_DECLARE_SELFTEST(emu)
