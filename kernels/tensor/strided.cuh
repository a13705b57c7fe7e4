// strided.cuh - where element i of a strided copy comes from in x and goes to in out: i unflattened
// over the copy's shape, dotted with each side's strides. One definition for the kernel and the cpu loop.
#pragma once

#include "deepkern/strides.cuh"
#include "tensor/tensor.h"

namespace dk {

DK_HD int64_t strided_source(const StridedCopyArgs& a, int64_t i) {
    return strided_offset(a.ndim, a.shape, a.x_stride, i);
}

// Where element i goes in out.
DK_HD int64_t strided_target(const StridedCopyArgs& a, int64_t i) {
    return a.out_strided ? strided_offset(a.ndim, a.shape, a.out_stride, i) : i;
}

}  // namespace dk
