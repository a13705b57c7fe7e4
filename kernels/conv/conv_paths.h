// conv_paths.h - the conv kernels of conv2d_depthwise.cu, conv2d_mma.cu and conv2d_sm90.cu as conv2d.cu's dispatch
// calls them, in the cuda and emu builds (DK_BACKEND names the namespace). Each path runs and
// returns true when it serves the call, and returns false doing nothing otherwise.
#pragma once

#include "conv/conv.h"

namespace dk {
namespace DK_BACKEND {

// The direct depthwise forward: groups == C (so each filter reads one channel; K is a multiple of
// C), any dtype, layout, kernel, stride and dilation.
bool conv2d_depthwise_eligible(const ConvArgs& a);
bool conv2d_forward_depthwise(const Exec& ex, DType dtype, const ConvArgs& a);

// The tensor-core forward: bf16 / f16 (C/groups % 8 == 0) or f32 as tf32 where allowed (C/groups
// % 4 == 0); NHWC with 16-byte aligned x and w, or NCHW through channels-last copies of both in
// the workspace of conv2d_forward_mma_workspace's bytes.
bool conv2d_mma_eligible(DType dtype, const ConvArgs& a);
// Hopper's (conv2d_sm90.cu): on compute capability 9.x, NHWC bf16 / f16 with C/groups % 8 == 0 and
// 16-byte aligned x and w, on wgmma fed by TMA; tried before the tensor-core forward.
bool conv2d_sm90_eligible(const Exec& ex, DType dtype, const ConvArgs& a);
bool conv2d_forward_sm90(const Exec& ex, DType dtype, const ConvArgs& a);
int64_t conv2d_forward_mma_workspace(DType dtype, const ConvArgs& a);
bool conv2d_forward_mma(const Exec& ex, DType dtype, const ConvArgs& a);
// The gradients on tensor cores where bf16 / f16 (or f32 as tf32 where allowed) with C/groups and
// K/groups whole 16-byte chunks: NHWC with the operands 16-byte aligned, or NCHW through
// channels-last copies in a workspace of the *_mma_workspace bytes; on conv2d.cu's grids of 64 x 64
// tiles: the data gradient's (pixels of a residue class, C/groups, groups x classes; its kernel
// takes 128 pixels per block), the weight gradient's (red, K/groups, groups x pieces) with its
// pieces, chunk, partials and copies (the workspace past the partials). The weight gradient returns
// where its dw went (null: not served): a.dw, or for NCHW a copy in (r, s, c) order, which
// conv2d_backward_weight_mma_to_nchw turns into a.dw once the partials are summed into it.
int64_t conv2d_backward_data_mma_workspace(DType dtype, const ConvArgs& a);
bool conv2d_backward_data_mma(const Exec& ex, DType dtype, const ConvArgs& a, dim3 grid);
int64_t conv2d_backward_weight_mma_workspace(DType dtype, const ConvArgs& a);
void* conv2d_backward_weight_mma(const Exec& ex, DType dtype, const ConvArgs& a, dim3 grid, int64_t pieces,
                                 int64_t chunk, float* partials, void* copies);
void conv2d_backward_weight_mma_to_nchw(const Exec& ex, DType dtype, const ConvArgs& a, const void* dw_rsc);

}  // namespace DK_BACKEND
}  // namespace dk
