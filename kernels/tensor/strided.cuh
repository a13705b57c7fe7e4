// strided.cuh - where element i of a strided copy comes from in x and goes to in out: i unflattened
// over the copy's shape, dotted with each side's strides. One definition for the kernel and the cpu loop.
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

// Where element i goes in out.
DK_HD int64_t strided_target(const StridedCopyArgs& a, int64_t i) {
    if (!a.out_strided) return i;
    int64_t at = 0;
    for (int d = a.ndim - 1; d >= 0; --d) {
        const int64_t extent = a.shape[d];
        at += (i % extent) * a.out_stride[d];
        i /= extent;
    }
    return at;
}

}  // namespace dk
