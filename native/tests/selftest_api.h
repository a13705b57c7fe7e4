/*
 * selftest_api.h - the runtime self-tests, in the native tests' build of the library only
 * (deepkern_testlib; the shipped libdeepkern does not carry them). Kernels that test the kernel
 * runtime itself, on emu and cuda contexts (kernels/selftest/selftest.cu lists each test's inputs
 * and output): "block_reduce", "warp_reduce", "block_scan", "shared_histogram", "mma_gemm",
 * "cp_async_pipeline", and the planted bugs "bug_missing_barrier", "bug_divergent_barrier",
 * "bug_bad_shuffle_mask". b may be NULL for tests with one input.
 */
#ifndef DEEPKERN_SELFTEST_API_H
#define DEEPKERN_SELFTEST_API_H

#include "deepkern.h"

#ifdef __cplusplus
extern "C" {
#endif

dk_status dk_selftest(dk_context* ctx, const char* name, const dk_tensor* a, const dk_tensor* b, dk_tensor* out);

#ifdef __cplusplus
}
#endif

#endif /* DEEPKERN_SELFTEST_API_H */
