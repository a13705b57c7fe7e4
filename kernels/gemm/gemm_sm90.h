// gemm_sm90.h - the Hopper GEMM's launcher, inside the gemm family: gemm() offers it every f16 /
// bf16 product first.
#pragma once

#include "deepkern/backend.h"
#include "gemm/gemm.h"

namespace dk {
namespace DK_BACKEND {

// Runs a on the sm_90a kernel and returns true where it applies (compute capability 9.x, f16 /
// bf16, K > 0, operand rows 16-byte aligned for TMA, one batch or one batch dim of such strides);
// false leaves a to the caller.
bool gemm_sm90(const Exec& ex, DType dtype, const GemmArgs& a);

}  // namespace DK_BACKEND
}  // namespace dk
