// strides.cuh - where element i of a row-major walk over shape sits in a tensor with the given
// element strides: i unflattened over shape (last dim fastest), dotted with the strides. Shared
// by the kernels that read or write through strides (the strided copy, the reductions), device
// and cpu alike.
#pragma once

#include <cstdint>

#include "deepkern/numeric.cuh"

namespace dk {

DK_HD int64_t strided_offset(int ndim, const int64_t* shape, const int64_t* stride, int64_t i) {
    if (ndim == 1) return i * stride[0];  // one flat dim: no division
    int64_t at = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        at += (i % shape[d]) * stride[d];
        i /= shape[d];
    }
    return at;
}

}  // namespace dk
