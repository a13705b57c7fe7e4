// conv_mma.h - the tensor-core conv forward (kernels/conv2d_mma.cu), called by conv2d.cu's
// dispatch in the cuda and emu builds (DK_BACKEND names the namespace).
#pragma once

#include "deepkern/ops.h"

namespace dk {
namespace DK_BACKEND {

// Whether the tensor-core path serves this call: bf16 / f16, NHWC, C/groups % 8 == 0, 16-byte aligned x and w.
bool conv2d_mma_eligible(DType dtype, const ConvArgs& a);
// Runs it and returns true when eligible; returns false (and does nothing) otherwise.
bool conv2d_forward_mma(const Exec& ex, DType dtype, const ConvArgs& a);

}  // namespace DK_BACKEND
}  // namespace dk
