// tensor.h - the tensor family's backend contract: fill, cast, randn and the strided copy that
// permutes and slices.
#pragma once

#include "deepkern/backend.h"

namespace dk {

constexpr int kMaxStridedDims = 16;

// A strided copy: element (i_0, ..., i_{ndim-1}) of shape[] goes from x at sum i_d x_stride[d]
// to out at sum i_d out_stride[d] (elements), or to out at its row-major index when out_strided is
// false (a gather into compact out: permutes, slices and views made contiguous).
struct StridedCopyArgs {
    const void* x;
    void* out;
    int32_t ndim;
    int64_t numel;
    int64_t shape[kMaxStridedDims];
    int64_t x_stride[kMaxStridedDims];
    int64_t out_stride[kMaxStridedDims];
    bool out_strided;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void fill(const Exec&, DType, void* out, int64_t n, double value);
    void cast(const Exec&, DType from, const void* x, DType to, void* out, int64_t n);
    void randn(const Exec&, DType, void* out, int64_t n, uint64_t seed, uint64_t offset);
    void strided_copy(const Exec&, DType, const StridedCopyArgs&);
)
