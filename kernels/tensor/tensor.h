// tensor.h - the tensor family's backend contract: fill, cast, randn and the strided copy that
// permutes and slices.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// A gather of x into compact out: out element (i_0, ..., i_{ndim-1}) of shape[] reads x at
// sum i_d * x_stride[d] (elements from x). Permutes and slices of compact tensors are this.
struct StridedCopyArgs {
    const void* x;
    void* out;
    int32_t ndim;
    int64_t numel;
    int64_t shape[16];
    int64_t x_stride[16];
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void fill(const Exec&, DType, void* out, int64_t n, double value);
    void cast(const Exec&, DType from, const void* x, DType to, void* out, int64_t n);
    void randn(const Exec&, DType, void* out, int64_t n, uint64_t seed, uint64_t offset);
    void strided_copy(const Exec&, DType, const StridedCopyArgs&);
)
