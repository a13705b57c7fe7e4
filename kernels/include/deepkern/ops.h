// ops.h - the backend interface: what native/src's dispatch calls after validation.
//
// The same list is declared in three namespaces: dk::cpu (native/src/cpu), dk::cuda (kernels/
// built by nvcc) and dk::emu (the same kernels/ sources built against the emulator). Arguments
// arrive validated: pointers are device pointers of the backend, sizes are non-negative and
// compact. Failures throw dk::Error.
#pragma once

#include <cstdint>

#include "deepkern.h"

namespace dk {

enum class DType : int32_t { f32, f16, bf16, i32, i64 };

struct EmuOptions;

struct ActParams {
    int32_t kind;  // dk_activation_kind
    float alpha, beta;
};

// An activation over x viewed as [rows, cols] (cols = the last dim), with an optional bias[cols].
// Forward reads x (+ bias) and writes out. Backward reads x (+ bias) and grad_out and writes
// grad_in; with grad_bias it also sums grad_in over rows in two passes without atomics: f32
// column sums per block of rows into workspace[bias_partial_rows][cols], then those into grad_bias.
struct ActArgs {
    const void* x;
    const void* bias;      // nullptr: no bias
    const void* grad_out;  // backward only
    void* out;             // forward: out; backward: grad_in
    void* grad_bias;       // backward only, nullptr: not wanted
    float* workspace;      // bias_partial_rows(rows) * cols floats when grad_bias is wanted
    int64_t rows, cols;
};


// out = up * act(gate) over [rows, cols]. gate and up (and their grads) have rows row_stride
// elements apart; out and grad_out are compact. Split form: row_stride = 2 cols, gate = up + cols.
struct GatedArgs {
    const void* gate;
    const void* up;
    const void* grad_out;  // backward only
    void* out;             // forward only
    void* grad_gate;       // backward only
    void* grad_up;         // backward only
    int64_t rows, cols, row_stride;
};

// Where a launch runs: the stream of the context (cuda) and the launch options (emu).
struct Exec {
    void* stream = nullptr;          // cudaStream_t on cuda
    int multiprocessors = 1;         // SMs on cuda, worker threads on cpu and emu
    const EmuOptions* emu = nullptr;
};

// One sampler step (deepkern.h dk_diffusion_step): tensors of n elements, optional ones null.
struct StepArgs {
    dk_step_coefs c;
    const void* x;
    const void* model;
    const void* uncond;
    const void* extra1;
    const void* extra2;
    void* out;
    void* out2;
    int64_t n;
};

// The Gaussian-mixture denoiser (dk_gmm_posterior_mean), f32: x, out [rows, dims], means
// [components, dims], log_weights [components].
struct GmmArgs {
    const float* x;
    const float* means;
    const float* log_weights;
    float* out;
    int64_t rows, dims, components;
    float data_std, a, b;
};

// softmax / log_softmax over x viewed as [rows, cols]. Forward: x -> out. Backward: x is the
// forward's output y, grad_out -> out (grad_x).
struct SoftmaxArgs {
    const void* x;
    const void* grad_out;  // backward only
    void* out;
    int64_t rows, cols;
    bool log;
};

// layer_norm (rms = false) or rms_norm (rms = true) over x viewed as [rows, cols]; weight and bias
// [cols] optional (nullptr). Forward writes out. Backward reads grad_out and writes out (grad_x)
// and, when wanted, grad_weight / grad_bias as column sums in two passes without atomics: per-row
// (mean, rstd) into workspace[0, 2 rows), f32 partial column sums per block of rows into
// workspace[2 rows, ...) (norm_workspace_floats), then those summed.
struct NormArgs {
    const void* x;
    const void* weight;
    const void* bias;      // forward only
    const void* grad_out;  // backward only
    void* out;
    void* grad_weight;
    void* grad_bias;
    float* workspace;
    int64_t rows, cols;
    float eps;
    bool rms;
};

// Rotary embedding of x [bh, seq, dim] (bh = B*H): sign = +1 forward, -1 backward (turn by -theta).
struct RopeArgs {
    const void* x;
    void* out;
    int64_t bh, seq, dim, offset;
    float base, sign;
    bool interleaved;
};

// A gather of x into compact out: out element (i_0, ..., i_{ndim-1}) of shape[] reads x at
// sum i_d * x_stride[d] (elements from x). Permutes and slices of compact tensors are this.
struct StridedCopyArgs {
    const void* x;
    void* out;
    int32_t ndim;
    int64_t numel;
    int64_t shape[16];
    int64_t x_stride[16];
};

// A batched product with its epilogue: out[z] = act(op(a[z]) @ op(b[z]) + bias) + residual[z], op(a)
// [m, k] stored as [m, k] or (trans_a) [k, m], op(b) [k, n] stored as [k, n] or (trans_b) [n, k].
// out and residual are compact [batch, m, n]; a and b start batch z at the sum over the batch dims
// of index * stride (stride 0 where the operand broadcasts). act.kind 0 means no activation.
constexpr int kMaxGemmBatchDims = 14;

struct GemmArgs {
    const void* a;
    const void* b;
    const void* bias;      // [n] or nullptr
    const void* residual;  // like out, or nullptr
    void* out;
    int64_t m, n, k, batch;
    int32_t batch_dims;
    int64_t batch_shape[kMaxGemmBatchDims];
    int64_t a_stride[kMaxGemmBatchDims];
    int64_t b_stride[kMaxGemmBatchDims];
    ActParams act;
    bool trans_a, trans_b;
};

// A 2-D convolution's geometry (deepkern.h dk_conv2d_*), validated: x [n, c, h, w] (or NHWC),
// weight viewed as [k][red] with red = c/groups * r * s in the layout's order ((c, r, s) for NCHW,
// (r, s, c) for NHWC), output [n, k, p, q] (or NHWC). Only the top/left pads enter the index maps;
// the bottom/right ones are in p and q.
struct ConvGeom {
    int64_t n, c, h, w;
    int64_t k, r, s;
    int64_t p, q;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
    int32_t nhwc;
};

// Forward reads x, w, bias, residual and writes y; backward_data reads y (grad_out), w and bias
// (the transposed conv's) and writes dx with act applied; backward_weight reads x and y and writes
// dw and, when non-null, db. Unused pointers are null; act.kind 0 = none.
struct ConvArgs {
    ConvGeom g;
    ActParams act;
    const void* x;
    const void* w;
    const void* bias;
    const void* residual;
    const void* grad_y;
    void* y;
    void* dx;
    void* dw;
    void* db;
    // backward_weight on cuda / emu: conv_weight_grad_splits(g) partial dw sums, [splits][k][red]
    // f32, when that is more than 1 (unused, may be null, otherwise and on cpu)
    float* workspace;
};

// Scaled dot-product attention (deepkern.h dk_attention_*), validated: q, out, grad_out, grad_q
// [batch, heads, lq, dim]; k, v, grad_k, grad_v [batch, kv_heads, lk, dim]; lse, delta [batch, heads,
// lq] f32; key_lengths int32 / int64 [batch] or null; bias (dtype T, or f32 when bias_f32) at
// b * bias_stride[0] + h * [1] + i * [2] + j * [3] (stride 0 where it broadcasts) or null.
// causal: dk_causal_mask. Backward: delta and (cuda / emu) dq_accum [batch, heads, lq, dim] f32 are
// workspace.
struct AttentionArgs {
    const void* q;
    const void* k;
    const void* v;
    const void* key_lengths;
    const void* bias;
    const void* grad_out;  // backward only
    void* out;             // forward: written; backward: read
    float* lse;            // forward: written; backward: read
    void* grad_q;
    void* grad_k;
    void* grad_v;
    float* delta;
    float* dq_accum;
    int64_t bias_stride[4];
    int64_t batch, heads, kv_heads, lq, lk, dim;
    float scale;
    int32_t causal;
    bool key_lengths_i64, bias_f32;
};

// Into how many pieces the cuda / emu weight gradient splits its reduction over the n * p * q
// output pixels (kernels/conv2d.cu): enough 64 x 64 tiles of dw to fill the machine about four
// times, each piece at least 256 pixels long.
inline int64_t conv_weight_grad_splits(const Exec& ex, const ConvGeom& g) {
    const int64_t red = (g.c / g.groups) * g.r * g.s, kgs = g.k / g.groups, pixels = g.n * g.p * g.q;
    const int64_t tiles = ((kgs + 63) / 64) * ((red + 63) / 64) * g.groups;
    const int64_t want = tiles > 0 ? (4 * int64_t(ex.multiprocessors) + tiles - 1) / tiles : 1;
    const int64_t most = (pixels + 255) / 256;
    const int64_t s = want < most ? want : most;
    return s < 1 ? 1 : s;
}

// The pixels of the largest stride residue class of the data gradient (rows and columns 0 mod
// the stride, kernels/conv2d.cu): the rows of its launch grid.
inline int64_t conv_data_grad_rows(const ConvGeom& g) {
    return g.n * ((g.h + g.stride_h - 1) / g.stride_h) * ((g.w + g.stride_w - 1) / g.stride_w);
}

// Row blocks of the bias-gradient reduction: enough to spread the rows over the machine, few
// enough that the second pass is small.
inline int64_t bias_partial_rows(const Exec& ex, int64_t rows) {
    const int64_t by_rows = (rows + 15) / 16;
    const int64_t cap = 4 * int64_t(ex.multiprocessors);
    return by_rows < 1 ? 1 : (by_rows < cap ? by_rows : cap);
}

// Floats of workspace dk_*_norm_backward needs when grad_weight or grad_bias is wanted.
inline int64_t norm_workspace_floats(const Exec& ex, int64_t rows, int64_t cols) {
    return 2 * rows + 2 * bias_partial_rows(ex, rows) * cols;
}

}  // namespace dk

#define DK_DECLARE_BACKEND_OPS(ns)                                                          \
    namespace dk {                                                                          \
    namespace ns {                                                                          \
    void fill(const Exec&, DType, void* out, int64_t n, double value);                      \
    void cast(const Exec&, DType from, const void* x, DType to, void* out, int64_t n);      \
    void randn(const Exec&, DType, void* out, int64_t n, uint64_t seed, uint64_t offset);   \
    void strided_copy(const Exec&, DType, const StridedCopyArgs&);                          \
    void activation_forward(const Exec&, DType, const ActParams&, const ActArgs&);          \
    void activation_backward(const Exec&, DType, const ActParams&, const ActArgs&);         \
    void gated_forward(const Exec&, DType, const ActParams&, const GatedArgs&);             \
    void gated_backward(const Exec&, DType, const ActParams&, const GatedArgs&);            \
    void diffusion_step(const Exec&, DType, const StepArgs&);                               \
    void gmm_posterior_mean(const Exec&, const GmmArgs&);                                    \
    void softmax_forward(const Exec&, DType, const SoftmaxArgs&);                           \
    void softmax_backward(const Exec&, DType, const SoftmaxArgs&);                          \
    void norm_forward(const Exec&, DType, const NormArgs&);                                 \
    void norm_backward(const Exec&, DType, const NormArgs&);                                \
    void rope(const Exec&, DType, const RopeArgs&);                                         \
    void gemm(const Exec&, DType, const GemmArgs&);                                         \
    void roofline_fma(const Exec&, float* out, int64_t n, int iterations);                  \
    void conv2d_forward(const Exec&, DType, const ConvArgs&);                               \
    void conv2d_forward_algorithm(const Exec&, DType, const ConvArgs&, const char** name);  \
    void conv2d_backward_data(const Exec&, DType, const ConvArgs&);                         \
    void conv2d_backward_weight(const Exec&, DType, const ConvArgs&);                       \
    void attention_forward(const Exec&, DType, const AttentionArgs&);                       \
    void attention_backward(const Exec&, DType, const AttentionArgs&);                      \
    }                                                                                       \
    }

DK_DECLARE_BACKEND_OPS(cpu)
DK_DECLARE_BACKEND_OPS(cuda)
DK_DECLARE_BACKEND_OPS(emu)
