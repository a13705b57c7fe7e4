// elementwise.h - the element-wise family's backend contract: binary arithmetic with torch's
// broadcasting, out = a op b (or a op scalar), each operand read through its own strides so a
// broadcast dim (stride 0) costs no copy.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// deepkern.h's dk_binary_op.
enum class BinaryOp : int32_t { add, sub, mul, div, maximum, minimum };

// Out element i, unflattened over shape[], is written at sum i_d out_stride[d] and reads a at
// sum i_d a_stride[d] and b at sum i_d b_stride[d] (elements; out is compact or a view). With has_scalar, b is the number `scalar` (and scalar_first
// puts it on the left). add and sub scale b by alpha (torch.add(a, b, alpha)).
struct BinaryArgs {
    const void* a;
    const void* b;
    void* out;
    BinaryOp op;
    int32_t ndim;
    int64_t numel;
    int64_t shape[16];
    int64_t a_stride[16];
    int64_t b_stride[16];
    int64_t out_stride[16];
    double scalar;
    double alpha;
    bool has_scalar;
    bool scalar_first;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void binary(const Exec&, DType, const BinaryArgs&);
)
