// conv_depthwise.h - the direct depthwise conv forward (kernels/conv2d_depthwise.cu), called by
// conv2d.cu's dispatch in the cuda and emu builds (DK_BACKEND names the namespace).
#pragma once

#include "deepkern/ops.h"

namespace dk {
namespace DK_BACKEND {

// Whether the depthwise path serves this call: groups == C (so each filter reads one channel;
// K is a multiple of C), any dtype, layout, kernel, stride and dilation.
bool conv2d_depthwise_eligible(const ConvArgs& a);
// Runs it and returns true when eligible; returns false (and does nothing) otherwise.
bool conv2d_forward_depthwise(const Exec& ex, DType dtype, const ConvArgs& a);

}  // namespace DK_BACKEND
}  // namespace dk
