// conv_mma.h - the tensor-core conv kernels (kernels/conv2d_mma.cu), called by conv2d.cu's
// dispatch in the cuda and emu builds (DK_BACKEND names the namespace).
#pragma once

#include "deepkern/ops.h"

namespace dk {
namespace DK_BACKEND {

// Whether the tensor-core path serves this call: bf16 / f16, NHWC, C/groups % 8 == 0, 16-byte aligned x and w.
bool conv2d_mma_eligible(DType dtype, const ConvArgs& a);
// Runs it and returns true when eligible; returns false (and does nothing) otherwise.
bool conv2d_forward_mma(const Exec& ex, DType dtype, const ConvArgs& a);
// The gradients on tensor cores where bf16 / f16, NHWC, C/groups and K/groups multiples of 8 and
// the operands 16-byte aligned (returning false and doing nothing otherwise), on conv2d.cu's grids
// of 64 x 64 tiles: the data gradient's (pixels of a residue class, C/groups, groups x classes),
// the weight gradient's (red, K/groups, groups x pieces) with its pieces, chunk and partials.
bool conv2d_backward_data_mma(const Exec& ex, DType dtype, const ConvArgs& a, dim3 grid);
bool conv2d_backward_weight_mma(const Exec& ex, DType dtype, const ConvArgs& a, dim3 grid, int64_t pieces,
                                int64_t chunk, float* partials);

}  // namespace DK_BACKEND
}  // namespace dk
