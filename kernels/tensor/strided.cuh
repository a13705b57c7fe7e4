// strided.cuh - where element i of a strided copy's compact output comes from in x: i unflattened
// over the output's shape, dotted with x's strides. One definition for the kernel and the cpu loop.
#pragma once

#include "deepkern/numeric.cuh"
#include "tensor/tensor.h"

namespace dk {

DK_HD int64_t strided_source(const StridedCopyArgs& a, int64_t i) {
    int64_t at = 0;
    for (int d = a.ndim - 1; d >= 0; --d) {
        const int64_t extent = a.shape[d];
        at += (i % extent) * a.x_stride[d];
        i /= extent;
    }
    return at;
}

}  // namespace dk
