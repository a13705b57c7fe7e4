// reduction.h - the reduction family's backend contract: sum, mean, max, min, argmax and argmin
// of x over a set of its dims.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// deepkern.h's dk_reduce_op.
enum class ReduceOp : int32_t { sum, mean, max, min, argmax, argmin };

// Out element o (compact over the kept dims, outer_numel of them) reduces the inner_numel elements
// of x at o's offset (o unflattened over outer_shape, dotted with outer_stride) plus r's offset
// (r unflattened over inner_shape, dotted with inner_stride), elements. out holds x's dtype, or
// i64 for argmax / argmin and for the sum of an integer x. inner_numel > 0 for max, min and the
// arg ops.
struct ReduceArgs {
    const void* x;
    void* out;
    ReduceOp op;
    int32_t outer_ndim, inner_ndim;
    int64_t outer_numel, inner_numel;
    int64_t outer_shape[16], outer_stride[16];
    int64_t inner_shape[16], inner_stride[16];
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void reduce(const Exec&, DType, const ReduceArgs&);
)
