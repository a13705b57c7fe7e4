// cpu/gemm_cpu.h - the cpu gemm's entries beside the backend contract (gemm/gemm.h).
#pragma once

#include "conv/conv.h"
#include "gemm/gemm.h"

namespace dk::cpu {

// The forward of an NHWC convolution without groups as one product (gemm.cpp), its left operand
// the implicit im2col of x = p.a (rows output pixels, K = R * S * C in the weight's order), read
// while packing: p.b is the weight [K, R*S*C] (trans_b), p.out y [N*P*Q, K], batch 1.
void gemm_conv_nhwc(DType dtype, const GemmArgs& p, const ConvGeom& g);

// gemm with the bias [m], one value per output row: an NCHW pointwise convolution as y[n] = w @ x[n],
// its rows the output channels.
void gemm_row_bias(DType dtype, const GemmArgs& p);

}  // namespace dk::cpu
