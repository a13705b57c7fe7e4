/*
 * deepkern.h - the public C API of deepkern, and the only header the Java bindings parse.
 *
 * Conventions
 * - Every function returns dk_status. On failure dk_last_error() returns a message naming the
 *   op, the argument and the expected vs actual value. The message belongs to the calling
 *   thread and stays valid until that thread's next failing call.
 * - A dk_context owns one device (cpu, cuda:N or emu), a stream, a caching allocator, a
 *   Philox seed/offset and workspace. Ops are asynchronous on the context's stream; copies to
 *   the host synchronize.
 * - Tensors cross the boundary as dk_tensor, laid out like DLPack's DLTensor. Strides count
 *   elements, as in DLPack; NULL strides mean compact row-major.
 * - Every op validates its arguments before anything is launched: bad input returns
 *   DK_ERROR_INVALID_ARGUMENT and never reaches a kernel.
 */
#ifndef DEEPKERN_H
#define DEEPKERN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DK_BUILDING_LIBRARY)
#define DK_API __attribute__((visibility("default")))
#else
#define DK_API
#endif

typedef enum dk_status {
    DK_SUCCESS = 0,
    DK_ERROR_INVALID_ARGUMENT = 1, /* an argument failed validation */
    DK_ERROR_OUT_OF_MEMORY = 2,    /* host or device allocation failed */
    DK_ERROR_UNAVAILABLE = 3,      /* the backend or device is not built or not present */
    DK_ERROR_NOT_SUPPORTED = 4,    /* a valid request this build cannot serve */
    DK_ERROR_DEVICE = 5,           /* the CUDA runtime or driver reported an error */
    DK_ERROR_KERNEL = 6,           /* the emulator's strict checks failed a launch */
    DK_ERROR_INTERNAL = 7          /* a bug in deepkern */
} dk_status;

/* Device types: cpu and cuda share DLPack's codes; emu memory is host memory. */
typedef enum dk_device_type {
    DK_DEVICE_CPU = 1,
    DK_DEVICE_CUDA = 2,
    DK_DEVICE_EMU = 128
} dk_device_type;

/* Dtype codes follow DLPack (kDLInt, kDLUInt, kDLFloat, kDLBfloat). */
typedef enum dk_dtype_code {
    DK_DTYPE_INT = 0,
    DK_DTYPE_UINT = 1,
    DK_DTYPE_FLOAT = 2,
    DK_DTYPE_BFLOAT = 4
} dk_dtype_code;

typedef struct dk_device {
    int32_t device_type; /* dk_device_type */
    int32_t device_id;
} dk_device;

typedef struct dk_dtype {
    uint8_t code;   /* dk_dtype_code */
    uint8_t bits;
    uint16_t lanes; /* always 1 */
} dk_dtype;

typedef struct dk_tensor {
    void* data;
    dk_device device;
    int32_t ndim;
    dk_dtype dtype;
    int64_t* shape;
    int64_t* strides;     /* elements; NULL = compact row-major */
    uint64_t byte_offset;
} dk_tensor;

typedef struct dk_context dk_context;

typedef struct dk_memory_stats {
    int64_t in_use;       /* bytes handed out and not yet freed (size-class rounded) */
    int64_t peak_in_use;  /* high-water mark of in_use since creation or the last reset */
    int64_t cached;       /* bytes held in the free lists for reuse */
    int64_t reserved;     /* in_use + cached: what the allocator holds from the device */
    int64_t alloc_count;  /* dk_malloc calls served */
    int64_t cache_hits;   /* of those, served from the free lists */
} dk_memory_stats;

typedef struct dk_device_props {
    char name[256];
    int32_t device_type;
    int32_t device_id;
    int32_t compute_major;       /* cuda only; 0 otherwise */
    int32_t compute_minor;
    int32_t multiprocessors;     /* SMs on cuda, 16 on emu (its emulated GPU), worker threads on cpu */
    int64_t total_memory;        /* bytes */
    int64_t l2_cache_bytes;
    int32_t driver_version;      /* CUDA encoding, e.g. 13000; 0 when no driver */
    int32_t runtime_version;
} dk_device_props;

/* Activations, named and parameterized as in torch.nn.functional: X(NAME, code, "name", gate)
 * for each, the one list that the enum below, the library's name table and dispatch, and the Java
 * constants come from. gate: 1 for the gates of the gated linear units (glu sigmoid, swiglu silu,
 * geglu gelu / gelu_tanh, reglu relu). alpha and beta are dk_activation's parameters. */
#define DK_ACTIVATIONS(X)                                                                          \
    X(THRESHOLD, 1, "threshold", 0)     /* x if x > alpha else beta (torch threshold(x, alpha, beta)) */ \
    X(STEP, 2, "step", 0)               /* 1 if x > alpha else 0, zero gradient (the perceptron's unit) */ \
    X(RELU, 3, "relu", 1)                                                                          \
    X(LEAKY_RELU, 4, "leaky_relu", 0)   /* alpha = negative slope */                                \
    X(ELU, 5, "elu", 0)                 /* alpha */                                                 \
    X(SELU, 6, "selu", 0)                                                                          \
    X(CELU, 7, "celu", 0)               /* alpha != 0 */                                            \
    X(SIGMOID, 8, "sigmoid", 1)                                                                    \
    X(TANH, 9, "tanh", 0)                                                                          \
    X(HARDTANH, 10, "hardtanh", 0)      /* alpha = min, beta = max, min <= max */                   \
    X(HARDSIGMOID, 11, "hardsigmoid", 0)                                                           \
    X(HARDSWISH, 12, "hardswish", 0)                                                               \
    X(SOFTPLUS, 13, "softplus", 0)      /* alpha = beta (!= 0), beta = threshold */                 \
    X(SILU, 14, "silu", 1)              /* swish */                                                 \
    X(MISH, 15, "mish", 0)                                                                         \
    X(GELU, 16, "gelu", 1)              /* x Phi(x), exact */                                       \
    X(GELU_TANH, 17, "gelu_tanh", 1)    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */       \
    X(QUICK_GELU, 18, "quick_gelu", 0)  /* x sigmoid(1.702 x) */

typedef enum dk_activation_kind {
    DK_ACT_NONE = 0, /* no activation: an epilogue's default */
#define DK_ACT_ENUM(NAME, code, name, gate) DK_ACT_##NAME = code,
    DK_ACTIVATIONS(DK_ACT_ENUM)
#undef DK_ACT_ENUM
    DK_ACT_END /* one past the largest code */
} dk_activation_kind;

typedef struct dk_activation {
    int32_t kind;  /* dk_activation_kind */
    float alpha;   /* first parameter, where the kind has one */
    float beta;    /* second parameter */
} dk_activation;

/* ---- library and backends ---- */
DK_API const char* dk_version(void);
DK_API const char* dk_last_error(void);
/* Whether the backend is compiled in and usable; *reason says why not (static string). */
DK_API dk_status dk_backend_info(int32_t device_type, int32_t* available, const char** reason);
DK_API dk_status dk_device_count(int32_t device_type, int32_t* count);
DK_API dk_status dk_device_query(int32_t device_type, int32_t device_id, dk_device_props* props);

/* ---- contexts ---- */
DK_API dk_status dk_context_create(int32_t device_type, int32_t device_id, dk_context** ctx);
DK_API dk_status dk_context_destroy(dk_context* ctx);
DK_API dk_status dk_context_device(const dk_context* ctx, dk_device* device);
DK_API dk_status dk_synchronize(dk_context* ctx);
/* Philox4x32-10 stream state: ops that draw random numbers consume counters from offset. */
DK_API dk_status dk_set_seed(dk_context* ctx, uint64_t seed, uint64_t offset);
DK_API dk_status dk_get_seed(const dk_context* ctx, uint64_t* seed, uint64_t* offset);
/* Whether f32 matmul, linear and conv2d (forward and gradients) may round their operands to TF32 (10 mantissa bits,
   f32 accumulation) for the tensor cores, as torch's allow_tf32: 0 (the default: full f32) or 1.
   cuda and emu only: the cpu backend computes in f32 either way. */
DK_API dk_status dk_set_allow_tf32(dk_context* ctx, int32_t allow);
DK_API dk_status dk_get_allow_tf32(const dk_context* ctx, int32_t* allow);
/* Whether every op must give bitwise the same result on every run, as torch's
   use_deterministic_algorithms: 0 (the default) or 1. The one op it changes is the attention
   backward on cuda and emu, whose dQ is otherwise added up with atomics in no fixed order; with 1
   a separate pass computes it per query tile (slower). Everything else is deterministic either way. */
DK_API dk_status dk_set_deterministic(dk_context* ctx, int32_t deterministic);
DK_API dk_status dk_get_deterministic(const dk_context* ctx, int32_t* deterministic);

/* ---- memory ---- */
DK_API dk_status dk_malloc(dk_context* ctx, int64_t bytes, void** ptr);
DK_API dk_status dk_free(dk_context* ctx, void* ptr);
DK_API dk_status dk_memory_stats_get(dk_context* ctx, dk_memory_stats* stats);
DK_API dk_status dk_memory_reset_peak(dk_context* ctx);
/* Return every cached block to the device. */
DK_API dk_status dk_empty_cache(dk_context* ctx);
DK_API dk_status dk_copy_from_host(dk_context* ctx, void* dst, const void* src_host, int64_t bytes);
DK_API dk_status dk_copy_to_host(dk_context* ctx, void* dst_host, const void* src, int64_t bytes);
DK_API dk_status dk_copy_device(dk_context* ctx, void* dst, const void* src, int64_t bytes);

/* ---- tensor ops ----
 * Tensors may be views: dk_tensor.strides (elements, non-negative; NULL for row-major) describe how
 * they sit in memory. Every op's inputs may be views (read through their strides, or copied compact
 * inside the call by the kernels that read rows); outputs must be contiguous, except those of
 * dk_copy, dk_binary, dk_binary_scalar and dk_attention_forward. */
/* Every element of out = value (converted to out's dtype; saturating for integers). */
DK_API dk_status dk_fill(dk_context* ctx, dk_tensor* out, double value);
/* out = N(0, 1) from the Philox stream at (seed, offset); element i uses counter i/4 after offset.
 * Passing the context's own state draws from it and advances its offset. */
DK_API dk_status dk_randn(dk_context* ctx, dk_tensor* out, uint64_t seed, uint64_t offset);
DK_API dk_status dk_randn_next(dk_context* ctx, dk_tensor* out);
/* out = x converted to out's dtype (round to nearest even); same shape. */
DK_API dk_status dk_cast(dk_context* ctx, const dk_tensor* x, dk_tensor* out);
/* out = x element for element (same shape and dtype; torch's out.copy_(x) without conversion), each
 * side read or written through its strides: the copy between views (contiguous(), a slice of a
 * concatenation). out's elements must land on distinct addresses; out may overlap x (x is read as
 * it was before the copy: through a copy of its own when their memory overlaps). */
DK_API dk_status dk_copy(dk_context* ctx, const dk_tensor* x, dk_tensor* out);
/* out = x with its dims reordered, made compact (torch x.permute(dims).contiguous()): dims is a
 * permutation of 0 .. x.ndim-1 and out.shape[i] = x.shape[dims[i]]; same dtype. */
DK_API dk_status dk_permute(dk_context* ctx, const dk_tensor* x, const int32_t* dims, dk_tensor* out);
/* out = elements start .. start + out.shape[dim] - 1 of x along dim (torch narrow_copy); every other
 * extent and the dtype as x's. */
DK_API dk_status dk_narrow(dk_context* ctx, const dk_tensor* x, int32_t dim, int64_t start, dk_tensor* out);
/* The out shapes of dk_permute (dims holds dims_count entries) and of dk_narrow taking length
 * elements, validating as they do (x's data not read; see dk_matmul_output_shape). */
DK_API dk_status dk_permute_output_shape(dk_context* ctx, const dk_tensor* x, const int32_t* dims, int32_t dims_count,
                                         int64_t* out_shape, int32_t* out_ndim);
DK_API dk_status dk_narrow_output_shape(dk_context* ctx, const dk_tensor* x, int32_t dim, int64_t start, int64_t length,
                                        int64_t* out_shape, int32_t* out_ndim);

/* ---- element-wise arithmetic (kernels/elementwise) ----
 * out = a op b with torch's broadcasting: the shapes aligned at their last dim, each pair of extents
 * equal or one of them 1; out has the broadcast shape and a's dtype, b must share it. add and sub
 * scale b by alpha (torch.add(a, b, alpha=alpha)). Floating dtypes compute in f32; i32 and i64 take
 * every op but div (true division makes floats: convert first), wrap on overflow, and need whole
 * alpha and scalars within their range. maximum and minimum propagate NaN. out may be a view with
 * distinct elements (an in-place op on a slice), and may be a or b itself where that one is laid out
 * as out is (element for element); no other overlap. */
typedef enum dk_binary_op {
    DK_BINARY_ADD = 0,
    DK_BINARY_SUB = 1,
    DK_BINARY_MUL = 2,
    DK_BINARY_DIV = 3,
    DK_BINARY_MAXIMUM = 4,
    DK_BINARY_MINIMUM = 5
} dk_binary_op;

DK_API dk_status dk_binary(dk_context* ctx, int32_t op, const dk_tensor* a, const dk_tensor* b, double alpha,
                           dk_tensor* out);
/* The broadcast shape of a and b (their data not read; see dk_matmul_output_shape). */
DK_API dk_status dk_binary_output_shape(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, int64_t* out_shape,
                                        int32_t* out_ndim);
/* out = a op scalar, or scalar op a when scalar_first != 0; out shaped like a (may be a). */
DK_API dk_status dk_binary_scalar(dk_context* ctx, int32_t op, const dk_tensor* a, double scalar, int32_t scalar_first,
                                  dk_tensor* out);

/* ---- reductions (kernels/reduction) ----
 * out = op of x over dims (dims_count entries, each in -ndim..ndim-1, none twice; none at all: every
 * dim, as torch's x.sum()); keepdim != 0 keeps the reduced dims as extent 1. out's dtype is x's,
 * except i64 for argmax / argmin (the index along the flattened reduced dims) and for the sum of an
 * integer x. mean needs a floating x (mean over nothing is NaN, a sum over nothing 0); max, min and
 * the arg ops need a non-empty reduction. NaN is the max and the min (it propagates); a tie goes to
 * the lowest index. Floating sums accumulate in f32 on cuda and emu, f64 on cpu. */
typedef enum dk_reduce_op {
    DK_REDUCE_SUM = 0,
    DK_REDUCE_MEAN = 1,
    DK_REDUCE_MAX = 2,
    DK_REDUCE_MIN = 3,
    DK_REDUCE_ARGMAX = 4,
    DK_REDUCE_ARGMIN = 5
} dk_reduce_op;

DK_API dk_status dk_reduce(dk_context* ctx, int32_t op, const dk_tensor* x, const int32_t* dims, int32_t dims_count,
                           int32_t keepdim, dk_tensor* out);
/* dk_reduce's out shape and dtype for x (x's data not read; see dk_matmul_output_shape). */
DK_API dk_status dk_reduce_output_shape(dk_context* ctx, int32_t op, const dk_tensor* x, const int32_t* dims,
                                        int32_t dims_count, int32_t keepdim, int64_t* out_shape, int32_t* out_ndim,
                                        dk_dtype* out_dtype);

/* ---- activations ----
 * x [..., C]; bias (optional, NULL for none) [C]: out = act(x + bias), same shape and dtype as x.
 * out may be x itself. Floating dtypes only; math in f32. */
DK_API dk_status dk_activation_forward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                       const dk_tensor* bias, dk_tensor* out);
/* grad_in = grad_out * act'(x + bias); grad_bias (optional, needs bias) = grad_in summed over every
 * dim but the last. Recomputes the activation from x rather than storing it. */
DK_API dk_status dk_activation_backward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                        const dk_tensor* bias, const dk_tensor* grad_out, dk_tensor* grad_in,
                                        dk_tensor* grad_bias);

/* ---- gated linear units: out = up * act(gate) ----
 * act is sigmoid (glu), silu (swiglu), gelu / gelu_tanh (geglu) or relu (reglu).
 * Two-tensor form: gate, up and out share one shape. */
DK_API dk_status dk_gated_forward(dk_context* ctx, const dk_activation* act, const dk_tensor* gate,
                                  const dk_tensor* up, dk_tensor* out);
DK_API dk_status dk_gated_backward(dk_context* ctx, const dk_activation* act, const dk_tensor* gate,
                                   const dk_tensor* up, const dk_tensor* grad_out, dk_tensor* grad_gate,
                                   dk_tensor* grad_up);
/* Split form, as torch.nn.functional.glu: x [..., 2H] = [up | gate] along the last dim, out [..., H]. */
DK_API dk_status dk_gated_split_forward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                        dk_tensor* out);
DK_API dk_status dk_gated_split_backward(dk_context* ctx, const dk_activation* act, const dk_tensor* x,
                                         const dk_tensor* grad_out, dk_tensor* grad_x);
/* The split form's out shape [..., H] for x (x's data not read; see dk_matmul_output_shape). */
DK_API dk_status dk_gated_split_output_shape(dk_context* ctx, const dk_tensor* x, int64_t* out_shape,
                                             int32_t* out_ndim);

/* ---- diffusion sampling ----
 * One fused pass of a sampler step (kernels/diffusion/diffusion.cu). Every sampler of org.deepkern.diffusion
 * (DDPM, DDIM, Euler, Heun, flow matching, DPM-Solver++(2M), reverse SDEs, probability-flow ODE) is
 * this formula with its own per-step scalars, computed on the host from the schedule:
 *   m   = uncond ? uncond + guidance * (model - uncond) : model       (classifier-free guidance)
 *   x0  = x0_x * x + x0_m * m, then clamped to [-clip, clip] when clip > 0
 *   eps = eps_x * x + eps_m * m + eps_x0 * x0
 *   out = out_x * x + out_x0 * x0 + out_eps * eps + out_e1 * extra1 + out_e2 * extra2 + noise * z
 *   out2 (optional) = o2_x * x + o2_x0 * x0 + o2_eps * eps
 * z ~ N(0, 1) is drawn inside the kernel from Philox (seed, offset) exactly as dk_randn draws it
 * (element i from counter offset + i/4), so no noise tensor exists; with noise == 0 none is drawn.
 * All tensors share x's shape and floating dtype; uncond, extra1, extra2 and out2 may be NULL
 * (a NULL extra needs its coefficient 0). out may be x itself. */
typedef struct dk_step_coefs {
    float guidance;
    float x0_x, x0_m, clip;
    float eps_x, eps_m, eps_x0;
    float out_x, out_x0, out_eps, out_e1, out_e2, noise;
    float o2_x, o2_x0, o2_eps;
    uint64_t seed, offset;
} dk_step_coefs;

DK_API dk_status dk_diffusion_step(dk_context* ctx, const dk_step_coefs* coefs, const dk_tensor* x,
                                   const dk_tensor* model, const dk_tensor* uncond, const dk_tensor* extra1,
                                   const dk_tensor* extra2, dk_tensor* out, dk_tensor* out2);

/* The exact denoiser of an isotropic Gaussian mixture, for checking samplers: data
 * x0 ~ sum_k w_k N(mu_k, s^2 I) in D dims, noised as x_t = a x0 + b eps. For each row of x [N, D]
 * out = E[x0 | x_t] (posterior responsibilities times per-component posterior means).
 * means [K, D], log_weights [K] (unnormalized log w_k), all f32; a >= 0, b >= 0, s >= 0, a*s or b > 0. */
DK_API dk_status dk_gmm_posterior_mean(dk_context* ctx, const dk_tensor* x, const dk_tensor* means,
                                       const dk_tensor* log_weights, float data_std, float a, float b,
                                       dk_tensor* out);

/* ---- normalizing flows (kernels/flow) ----
 * The affine coupling of RealNVP with Glow's scale, fused: for each sample n (dim 0) with m
 * transformed elements (in / out: the sample's elements, any shape with dim 0 = N) and its
 * conditioner output h (2m elements per sample, laid out [shift (m) | raw scale (m)]: for an image
 * h [N, 2C', H, W] its first C' channels are the shift, the last C' the raw scale),
 *   s = sigmoid(raw + 2),  forward: out = (in + shift) * s,  inverse: out = in / s - shift,
 *   logdet[n] = (accumulate ? logdet[n] : 0) + sum_j log s[n, j]   (the inverse: minus that sum).
 * The log-det is reduced in the same pass, in a fixed order: the same bits on every run and
 * backend. in, h and out share one floating dtype; logdet is f32 [N] or NULL; out may be in itself.
 * Glow's code interleaves shift and scale (h[..., 0::2], h[..., 1::2]); the halves here are the
 * same map up to a permutation of the conditioner's output channels. */
DK_API dk_status dk_flow_coupling_forward(dk_context* ctx, const dk_tensor* x, const dk_tensor* h,
                                          int32_t accumulate, dk_tensor* y, dk_tensor* logdet);
DK_API dk_status dk_flow_coupling_inverse(dk_context* ctx, const dk_tensor* y, const dk_tensor* h,
                                          int32_t accumulate, dk_tensor* x, dk_tensor* logdet);
/* The forward's gradients from its input x: grad_x (x's shape) and grad_h (h's shape,
 * [d shift | d raw]) given grad_y (x's shape) and grad_logdet (f32 [N], or NULL for zero). */
DK_API dk_status dk_flow_coupling_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* h,
                                           const dk_tensor* grad_y, const dk_tensor* grad_logdet,
                                           dk_tensor* grad_x, dk_tensor* grad_h);

/* ---- optimizers ----
 * Multi-tensor optimizer steps and gradient clipping (kernels/optim/optim.cu): ONE launch updates
 * every parameter of a call of one dtype (one per dtype present), whatever their number and sizes (as apex's multi_tensor_apply and
 * torch's fused optimizers do). params[i] (f32, f16 or bf16, compact) is updated in place from
 * grads[i] (the same dtype and shape); the optimizer state tensors (f32, params[i]'s shape,
 * compact) are updated in place too. Parameters of one call may have different dtypes. The math is
 * torch.optim's, in f32, each operation rounded on its own: the same bits on every backend.
 * masters: NULL, or count entries, each NULL (update params[i] itself) or an f32 master copy of a
 * 16-bit params[i], which the step updates and then rounds into params[i]. Without a master a
 * 16-bit parameter is read, updated in f32 and rounded back.
 * steps[i] >= 1: the step each parameter takes now (1 on its first; torch counts per parameter).
 * grad_scale: NULL, or an f32 tensor of one element multiplying every gradient as it is read
 * (dk_grad_norm's clip_scale: clipping without a host round trip; grads are not modified).
 * Distinct i must name distinct memory (not checked across tensors). count 0 does nothing. */
typedef struct dk_adamw_options {
    float lr;           /* >= 0 */
    float beta1, beta2; /* in [0, 1) */
    float eps;          /* >= 0 */
    float weight_decay; /* >= 0: decoupled, p *= 1 - lr * weight_decay */
} dk_adamw_options;

/* torch.optim.AdamW (amsgrad off): p *= 1 - lr wd; m = lerp(m, g, 1 - beta1);
 * v = beta2 v + (1 - beta2) g^2; p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
 * t = steps[i]. exp_avgs (m), exp_avg_sqs (v): count f32 tensors each, zero before the first step. */
DK_API dk_status dk_adamw_step(dk_context* ctx, const dk_adamw_options* options, int32_t count,
                               dk_tensor* const* params, const dk_tensor* const* grads, dk_tensor* const* exp_avgs,
                               dk_tensor* const* exp_avg_sqs, dk_tensor* const* masters, const int64_t* steps,
                               const dk_tensor* grad_scale);

typedef struct dk_sgd_options {
    float lr;           /* >= 0 */
    float momentum;     /* >= 0 */
    float dampening;
    float weight_decay; /* >= 0 */
    int32_t nesterov;   /* needs momentum > 0 and dampening 0, as torch requires */
} dk_sgd_options;

/* torch.optim.SGD: g += weight_decay p; with momentum, buf = g on steps[i] == 1, else
 * buf = momentum buf + (1 - dampening) g, then g = nesterov ? g + momentum buf : buf; p -= lr g.
 * momentum_buffers: count f32 tensors, or NULL when momentum is 0. */
DK_API dk_status dk_sgd_step(dk_context* ctx, const dk_sgd_options* options, int32_t count, dk_tensor* const* params,
                             const dk_tensor* const* grads, dk_tensor* const* momentum_buffers,
                             dk_tensor* const* masters, const int64_t* steps, const dk_tensor* grad_scale);

/* The L2 norm of all count gradients together (torch.nn.utils.clip_grad_norm_'s total norm) into
 * total_norm (f32, one element), and, when clip_scale (f32, one element) is given,
 * min(max_norm / (norm + 1e-6), 1) into it. Deterministic: fixed-order sums, no atomics, the same
 * bits on every run (the cpu backend sums in double, the kernels in a fixed f32 tree). The
 * gradients are only read. max_norm > 0. */
DK_API dk_status dk_grad_norm(dk_context* ctx, int32_t count, const dk_tensor* const* grads, float max_norm,
                              dk_tensor* total_norm, dk_tensor* clip_scale);
/* torch.nn.utils.clip_grad_norm_: dk_grad_norm, then every gradient multiplied in place by the clip
 * scale (rounded to its dtype), all on the device. */
DK_API dk_status dk_clip_grad_norm(dk_context* ctx, int32_t count, dk_tensor* const* grads, float max_norm,
                                   dk_tensor* total_norm);

/* ---- softmax and normalization over the last dim ----
 * x [..., C] is a stack of rows of C elements; every op works row by row. Floating dtypes only;
 * all tensors of a call share x's dtype, except that the norms' parameters (weight, bias and their
 * gradients) may all be f32 with an f16 / bf16 x (torch's mixed-dtype norm); statistics and math in f32. */
/* out = softmax(x) over the last dim, or log_softmax(x) when log != 0. out may be x. */
DK_API dk_status dk_softmax_forward(dk_context* ctx, const dk_tensor* x, int32_t log, dk_tensor* out);
/* The gradient from the forward's OUTPUT y: softmax dx = y (dy - sum(dy y)), log_softmax
 * dx = dy - exp(y) sum(dy), sums over the row. grad_x may be grad_out. */
DK_API dk_status dk_softmax_backward(dk_context* ctx, const dk_tensor* y, const dk_tensor* grad_out, int32_t log,
                                     dk_tensor* grad_x);
/* layer_norm: out = (x - mean) / sqrt(var + eps) * weight + bias, var biased (as torch);
 * weight and bias [C] each optional (NULL: 1 and 0). eps > 0. out may be x. */
DK_API dk_status dk_layer_norm_forward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                       const dk_tensor* bias, float eps, dk_tensor* out);
/* Recomputes the row statistics from x. grad_weight (needs weight) = sum over rows of dy * xhat,
 * grad_bias = sum over rows of dy; both optional, summed in two passes without atomics. */
DK_API dk_status dk_layer_norm_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                        const dk_tensor* grad_out, float eps, dk_tensor* grad_x,
                                        dk_tensor* grad_weight, dk_tensor* grad_bias);
/* rms_norm: out = x / sqrt(mean(x^2) + eps) * weight; weight [C] optional. eps > 0. */
DK_API dk_status dk_rms_norm_forward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, float eps,
                                     dk_tensor* out);
DK_API dk_status dk_rms_norm_backward(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                      const dk_tensor* grad_out, float eps, dk_tensor* grad_x,
                                      dk_tensor* grad_weight);

/* ---- rotary position embedding ----
 * x [B, H, L, D], D even. Position p = l + position_offset; pair i (0 <= i < D/2) turns by
 * theta = p * base^(-2i/D): (a, b) -> (a cos - b sin, a sin + b cos). Half-split (GPT-NeoX,
 * Llama) pairs element i with i + D/2; interleaved (GPT-J) pairs 2i with 2i + 1. base > 0,
 * position_offset >= 0. out may be x. The backward is the same turn by -theta. */
typedef enum dk_rope_layout {
    DK_ROPE_HALF_SPLIT = 0,
    DK_ROPE_INTERLEAVED = 1
} dk_rope_layout;

DK_API dk_status dk_rope_forward(dk_context* ctx, const dk_tensor* x, int32_t layout, float base,
                                 int64_t position_offset, dk_tensor* out);
DK_API dk_status dk_rope_backward(dk_context* ctx, const dk_tensor* grad_out, int32_t layout, float base,
                                  int64_t position_offset, dk_tensor* grad_x);

/* ---- matrix products ----
 * Floating dtypes; every tensor of a call shares one dtype; products accumulate in f32. */
/* out = op(a) @ op(b) over the last two dims, op transposing them where trans_a / trans_b != 0:
 * a [..., M, K] ([..., K, M] transposed), b [..., K, N] ([..., N, K] transposed);
 * the batch dims broadcast as in torch.matmul, out [broadcast batch..., M, N]. As in torch.matmul a
 * 1-D a [K] is the matrix [1, K] and a 1-D b [K] the matrix [K, 1] (trans_* ignored for them), and
 * that 1 is dropped from out's shape (two vectors give a 0-dim out). out must not overlap a or b.
 * An operand that is the transpose of a compact tensor in its last two dims (a view: torch's x.mT)
 * is read in place, with its trans flag flipped; any other view is copied compact for the call. */
DK_API dk_status dk_matmul(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, int32_t trans_a, int32_t trans_b,
                           dk_tensor* out);
/* The shape dk_matmul's out must have for a and b (at most 16 extents into out_shape, their count
 * into *out_ndim), validating a and b as dk_matmul does; their data is not read and may be NULL. */
DK_API dk_status dk_matmul_output_shape(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, int32_t trans_a,
                                        int32_t trans_b, int64_t* out_shape, int32_t* out_ndim);
/* torch.nn.functional.linear with a fused epilogue: out = act(x @ weight^T + bias) + residual.
 * x [..., in], weight [out_features, in], bias [out_features], residual and out [..., out_features];
 * bias, act (identity) and residual may be NULL. out may be residual itself. */
DK_API dk_status dk_linear(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight, const dk_tensor* bias,
                           const dk_activation* act, const dk_tensor* residual, dk_tensor* out);
/* The shape of dk_linear's out for x and weight (as dk_matmul_output_shape; data not read). */
DK_API dk_status dk_linear_output_shape(dk_context* ctx, const dk_tensor* x, const dk_tensor* weight,
                                        int64_t* out_shape, int32_t* out_ndim);

/* ---- 2-D convolution (kernels/conv/conv2d.cu) ----
 * Output size per spatial dim, as torch.nn.functional.conv2d:
 *   P = (H + pad_top + pad_bottom - dilation_h * (R - 1) - 1) / stride_h + 1   (and Q from W likewise)
 * Layouts: NCHW: x [N, C, H, W], w [K, C/groups, R, S] (torch's), out [N, K, P, Q];
 *          NHWC: x [N, H, W, C], w [K, R, S, C/groups],           out [N, P, Q, K].
 * Empty dims as in torch: N = 0 or K = 0 gives an empty output, C = 0 a sum over nothing (act(bias));
 * H and W must be positive. Sizes that would overflow 64-bit byte counts are rejected.
 * bias [K], residual shaped like out, all one floating dtype; bf16/f16 compute in f32.
 * Forward: out = act(conv(x, w) + bias) + residual, fused in one kernel; activation.kind 0 = none,
 * bias and residual may be NULL; residual may be out itself. */
typedef enum dk_layout {
    DK_LAYOUT_NCHW = 0,
    DK_LAYOUT_NHWC = 1
} dk_layout;

typedef struct dk_conv2d_params {
    int32_t layout;                          /* dk_layout */
    int32_t stride_h, stride_w;              /* >= 1 */
    int32_t pad_top, pad_bottom, pad_left, pad_right;  /* >= 0 */
    int32_t dilation_h, dilation_w;          /* >= 1 */
    int32_t groups;                          /* >= 1, divides C and K */
    int32_t output_padding_h, output_padding_w; /* transposed conv only (0 elsewhere), < stride or dilation */
    dk_activation activation;                /* epilogue activation; kind 0 = none */
} dk_conv2d_params;

DK_API dk_status dk_conv2d_forward(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                   const dk_tensor* w, const dk_tensor* bias, const dk_tensor* residual,
                                   dk_tensor* out);
/* The 4 extents of dk_conv2d_forward's out for x and w, validating params, x and w as the forward
 * does (their data is not read and may be NULL): ask before allocating the output. */
DK_API dk_status dk_conv2d_output_shape(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                        const dk_tensor* w, int64_t* out_shape);
/* Which kernel dk_conv2d_forward runs for these arguments (a static string): on cpu
 * "direct_depthwise" (groups == C == K) or "im2col_gemm"; on cuda / emu, the first that applies of "gemm_1x1" (NHWC, groups 1, 1x1 filter, stride 1, no
 * padding: a matrix product), "depthwise" (groups == C), "implicit_gemm_mma" (tensor cores: bf16 /
 * f16, NHWC, C/groups a multiple of 8, x and w 16-byte aligned) and "implicit_gemm_fma" (f32 math
 * on CUDA cores). Validates params, x and w as the forward does. */
DK_API dk_status dk_conv2d_forward_algorithm(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                             const dk_tensor* w, const char** name);
/* The data gradient: grad_x = d(sum(grad_out * conv(x, w))) / dx; grad_x's shape gives H and W.
 * params.activation must be none. */
DK_API dk_status dk_conv2d_backward_data(dk_context* ctx, const dk_conv2d_params* params,
                                         const dk_tensor* grad_out, const dk_tensor* w, dk_tensor* grad_x);
/* The weight gradient (grad_w shaped like w) and, when grad_bias is not NULL, the bias gradient
 * [K] = grad_out summed over N, P, Q. params.activation must be none. */
DK_API dk_status dk_conv2d_backward_weight(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                           const dk_tensor* grad_out, dk_tensor* grad_w, dk_tensor* grad_bias);
/* torch.nn.functional.conv_transpose2d, computed as the data gradient of a conv: out = act(convT(x, w) + bias).
 * NCHW: x [N, Cin, H, W], w [Cin, Cout/groups, R, S] (torch's), out [N, Cout, Ho, Wo];
 * NHWC: x [N, H, W, Cin], w [Cin, R, S, Cout/groups], out [N, Ho, Wo, Cout], with
 *   Ho = (H - 1) * stride_h - pad_top - pad_bottom + dilation_h * (R - 1) + output_padding_h + 1. */
DK_API dk_status dk_conv_transpose2d_forward(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                             const dk_tensor* w, const dk_tensor* bias, dk_tensor* out);
/* The 4 extents of dk_conv_transpose2d_forward's out, validating as it does (data not read). */
DK_API dk_status dk_conv_transpose2d_output_shape(dk_context* ctx, const dk_conv2d_params* params, const dk_tensor* x,
                                                  const dk_tensor* w, int64_t* out_shape);

/* ---- detection (kernels/detect) ----
 * torchvision.ops' box utilities and non-maximum suppression. Boxes are [..., 4] (box_iou and NMS:
 * [N, 4]) in one floating dtype, f32 / f16 / bf16 (f32 math), their coordinates as dk_box_format
 * says; box_iou, box_area and NMS take xyxy (x1, y1, x2, y2). Outputs are in the boxes' dtype. */
typedef enum dk_box_format {
    DK_BOX_XYXY = 0,   /* corners (x1, y1, x2, y2) */
    DK_BOX_XYWH = 1,   /* top-left corner, width, height */
    DK_BOX_CXCYWH = 2  /* centre, width, height */
} dk_box_format;

/* torchvision's box_convert: out [..., 4] = boxes in out_fmt, each pair of formats converted directly
 * (xyxy -> cxcywh = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1); xywh -> cxcywh = (x + w / 2,
 * y + h / 2, w, h); ...). */
DK_API dk_status dk_box_convert(dk_context* ctx, const dk_tensor* boxes, int32_t in_fmt, int32_t out_fmt,
                                dk_tensor* out);
/* torchvision's box_area: out [...] = (x2 - x1) * (y2 - y1) of boxes [..., 4]. */
DK_API dk_status dk_box_area(dk_context* ctx, const dk_tensor* boxes, dk_tensor* out);
/* torchvision's clip_boxes_to_image: out [..., 4] = boxes with x1, x2 clamped to [0, width] and y1, y2
 * to [0, height] (height, width >= 0; NaN stays NaN, as torch.clamp). out may be boxes itself. */
DK_API dk_status dk_clip_boxes(dk_context* ctx, const dk_tensor* boxes, int64_t height, int64_t width,
                               dk_tensor* out);
/* torchvision's box_iou: out [N, M], out[i, j] = inter / (area(a_i) + area(b_j) - inter), inter the
 * area of the intersection (its sides clamped at 0), no +1: two boxes of zero area give 0 / 0 = NaN,
 * as torchvision does. a [N, 4], b [M, 4]. */
DK_API dk_status dk_box_iou(dk_context* ctx, const dk_tensor* a, const dk_tensor* b, dk_tensor* out);
/* torchvision's nms: the boxes kept by greedy non-maximum suppression, by decreasing score. boxes [N, 4]
 * (xyxy), scores [N] (boxes' dtype), N <= 811008. The order is a stable sort of the scores, descending,
 * NaN first (torch.sort(descending=True), which torchvision sorts with, takes NaN as the largest):
 * equal scores (-0 equals +0) by lower index first. In that order each box not yet suppressed is
 * kept and suppresses every later box whose IoU with it (dk_box_iou's formula, in f32) is strictly
 * greater than iou_threshold (not NaN; converted to f32 as torchvision does); an IoU of NaN (two
 * boxes of zero area) suppresses nothing. keep: int64 [N]; its first *count elements receive the
 * kept indices into boxes. Runs on the device (sort, suppression bitmask, a one-block walk of the
 * mask); only *count is copied to the host, so the call synchronizes with the context's stream. */
DK_API dk_status dk_nms(dk_context* ctx, const dk_tensor* boxes, const dk_tensor* scores, double iou_threshold,
                        dk_tensor* keep, int64_t* count);
/* torchvision's batched_nms: dk_nms within each class, classes int32 or int64 [N]: a box suppresses
 * only boxes of its own class. The kept indices of every class, merged by the same order as dk_nms
 * (decreasing score, NaN first, ties by index). */
DK_API dk_status dk_batched_nms(dk_context* ctx, const dk_tensor* boxes, const dk_tensor* scores,
                                const dk_tensor* classes, double iou_threshold, dk_tensor* keep, int64_t* count);

/* The fused postprocess of a detector's outputs, in TensorRT EfficientNMS's shape: boxes [N, B, 4]
 * (params.box_format; one box shared by every class), and either scores [N, B, C] (C >= 1) or
 * scores [N, B] with one class per box in classes (int32 or int64 [N, B], as the decoders return
 * them; C = 1), one floating dtype, f32 math. Per image, the pairs (box b, class c) - B C of them,
 * pair b C + c (b where classes is given), below 2^31 - are candidates where score > score_threshold
 * (score = sigmoid(raw) where params.score_sigmoid, else raw; NaN never is) and c is not
 * params.background_class (-1: none). The top_k best candidates by decreasing score, ties by lower
 * pair index, enter greedy NMS: in that order each candidate not yet suppressed is kept and
 * suppresses the later candidates of its class (any class where params.class_agnostic) whose IoU
 * with it (dk_box_iou's formula on the corner boxes, f32) is strictly above iou_threshold; the walk
 * stops at max_detections kept. Outputs: count [N] int64 (kept per image), boxes [N, D, 4] f32
 * (corners, whatever the input format), scores [N, D] f32 (the sigmoid where asked), classes
 * [N, D] int64, D = max_detections; slot i < count the i-th kept candidate, the others padded with
 * a zero box, score 0 and class -1. One launch, one block per image; nothing is copied to the host. */
enum { DK_POSTPROCESS_MAX_TOP_K = 4096 };

typedef struct dk_postprocess_params {
    double score_threshold;   /* not NaN; converted to f32 */
    double iou_threshold;     /* not NaN; converted to f32 */
    int32_t top_k;            /* 1 .. DK_POSTPROCESS_MAX_TOP_K candidates per image enter NMS */
    int32_t max_detections;   /* D, 1 .. DK_POSTPROCESS_MAX_TOP_K slots per image */
    int64_t background_class; /* -1: none; else >= 0, a class never detected */
    int32_t box_format;       /* dk_box_format of the input boxes */
    int32_t score_sigmoid;    /* nonzero: scores are logits, sigmoid applied */
    int32_t class_agnostic;   /* nonzero: NMS across classes */
} dk_postprocess_params;

DK_API dk_status dk_detection_postprocess(dk_context* ctx, const dk_postprocess_params* params,
                                          const dk_tensor* boxes, const dk_tensor* scores,
                                          const dk_tensor* classes, dk_tensor* count, dk_tensor* out_boxes,
                                          dk_tensor* out_scores, dk_tensor* out_classes);

/* Decoders: raw detection-head outputs into boxes [N, P, 4] (xyxy, pixels), scores [N, P] and classes
 * [N, P] (int64), in one pass over the heads, without thresholds (filtering and NMS are separate).
 * Heads are NCHW (torch's layout) in one floating dtype, f32 / f16 / bf16, computed in f32; boxes
 * and scores are f32 whatever the heads' dtype (as TensorRT's decoding plugins). sigmoid(v) =
 * 1 / (1 + exp(-v)). A prediction's class is the argmax of its class logits (the first of equal
 * ones, the first NaN if any): the argmax of the sigmoids, which increase with the logits. */
enum { DK_DECODE_MAX_LEVELS = 4, DK_DECODE_MAX_ANCHORS = 8, DK_CENTERNET_MAX_K = 4096 };

typedef enum dk_yolo_head {
    DK_YOLO_V3 = 3, /* YOLOv3 (ultralytics/yolov3, PyTorch-YOLOv3) */
    DK_YOLO_V5 = 5, /* YOLOv5 (ultralytics), also YOLOv7's head */
    DK_YOLO_V8 = 8  /* YOLOv8 (ultralytics) anchor-free with DFL, also YOLOv9 / v10 / v11's heads */
} dk_yolo_head;

typedef struct dk_yolo_params {
    int32_t head;        /* dk_yolo_head */
    int32_t num_levels;  /* L, 1 .. DK_DECODE_MAX_LEVELS: the heads given */
    int32_t num_classes; /* K >= 1 */
    int32_t num_anchors; /* v3 / v5: A per level, 1 .. DK_DECODE_MAX_ANCHORS; v8: not read */
    int32_t reg_max;     /* v8: DFL bins per side, >= 2 (ultralytics: 16); v3 / v5: not read */
    double strides[DK_DECODE_MAX_LEVELS]; /* level l's stride in pixels, finite, > 0 */
    /* v3 / v5: anchor a of level l, (w, h) in pixels at [2 (l DK_DECODE_MAX_ANCHORS + a)] and the
     * next; finite, > 0. v8: not read. */
    double anchors[DK_DECODE_MAX_LEVELS * DK_DECODE_MAX_ANCHORS * 2];
} dk_yolo_params;

/* YOLO heads: heads[l] [N, C, H_l, W_l], N the same on every level, H_l, W_l >= 1, C = A (5 + K)
 * for v3 / v5 (anchor a's channels a (5 + K) .. : tx, ty, tw, th, to, K class logits), C =
 * 4 reg_max + K for v8 (reg_max DFL bins for each of l, t, r, b, then K class logits).
 * Predictions, P in all: the levels in order; within a level anchor-major, a H W + y W + x (v8: one
 * per cell, y W + x), which is ultralytics' order (view(N, A, 5 + K, H, W).permute(0, 1, 3, 4, 2)).
 * With stride s and anchor (aw, ah), for the cell (x, y):
 *   v3: centre ((sigmoid(tx) + x) s, (sigmoid(ty) + y) s), size (exp(tw) aw, exp(th) ah);
 *   v5: centre ((2 sigmoid(tx) - 0.5 + x) s, ...), size ((2 sigmoid(tw))^2 aw, (2 sigmoid(th))^2 ah);
 *       box = centre -+ size / 2; score = sigmoid(to) * sigmoid(max class logit) (v3's independent
 *       logistic classifiers, v5's the same);
 *   v8: each side's distance d = sum(i softmax(bins)_i) in grid units (DFL), the anchor point
 *       (x + 0.5, y + 0.5): box = (x + 0.5 - d_l, y + 0.5 - d_t, x + 0.5 + d_r, y + 0.5 + d_b) s;
 *       score = sigmoid(max class logit), no objectness.
 * boxes [N, P, 4] f32, scores [N, P] f32, classes [N, P] int64. One launch. */
DK_API dk_status dk_yolo_decode(dk_context* ctx, const dk_yolo_params* params, const dk_tensor* const* heads,
                                dk_tensor* boxes, dk_tensor* scores, dk_tensor* classes);

/* CenterNet's ctdet_decode (Objects as Points): heatmap [N, C, H, W] logits, wh [N, 2, H, W] (box
 * width, height in output cells), offset [N, 2, H, W] (sub-cell centre offset; NULL: cell centres,
 * x + 0.5, as CenterNet without reg_offset), one floating dtype. heat = sigmoid(logit); an element
 * keeps its heat where it equals the 3x3 max around it (max_pool2d(3, stride 1, padding 1): equal
 * neighbours on a plateau all stay; NaN never), else 0 - as CenterNet's _nms. The k best of the
 * N C H W scores per image, by decreasing score, ties by lower flat index c H W + y W + x (CenterNet's
 * per-class then overall topk, ties by index; where fewer than k peaks exist, zero-score cells fill
 * in by that order). 1 <= k <= min(C H W, DK_CENTERNET_MAX_K). Slot i of image n, from cell (x, y)
 * of class c:
 *   box = (x + off_x - w / 2, y + off_y - h / 2, x + off_x + w / 2, y + off_y + h / 2) * down_ratio,
 *   score, class c. down_ratio: the output stride (CenterNet: 4), finite, > 0.
 * boxes [N, k, 4] f32, scores [N, k] f32, classes [N, k] int64. */
DK_API dk_status dk_centernet_decode(dk_context* ctx, const dk_tensor* heatmap, const dk_tensor* wh,
                                     const dk_tensor* offset, int32_t k, double down_ratio, dk_tensor* boxes,
                                     dk_tensor* scores, dk_tensor* classes);

/* torchvision.ops.roi_align (Mask R-CNN's RoIAlign): each region of interest pooled to a fixed grid of
 * bilinear averages. input [N, C, H, W] (NCHW), N, C >= 0, 1 <= H, W <= 2^24, f32 / f16 / bf16
 * (f32 math); boxes [K, 5] in input's dtype, rows (batch index, x1, y1, x2, y2) in image coordinates
 * (torchvision's [K, 5] form); out [K, C, output_h, output_w] in input's dtype, output sizes >= 1;
 * spatial_scale finite and > 0 in f32 (input pixels per image pixel: 1 / the feature stride);
 * aligned 0 or 1.
 * Roi k, in f32 as torchvision computes it for float tensors (offset = aligned ? 0.5 : 0):
 *   start_x = x1 * spatial_scale - offset, roi_w = (x2 * spatial_scale - offset) - start_x, and
 *   roi_w = max(roi_w, 1) when not aligned (likewise y, roi_h); bin_w = roi_w / output_w;
 *   grid_w = sampling_ratio > 0 ? sampling_ratio : ceil(bin_w) (adaptive; 0 samples where
 *   bin_w <= 0, at most 2^31 - 1); count = max(grid_h grid_w, 1).
 *   out[k, c, ph, pw] = sum over iy < grid_h, ix < grid_w of bilinear(input[b, c], y, x) / count,
 *   y = start_y + ph bin_h + (iy + 0.5) bin_h / grid_h (x likewise), where bilinear is 0 unless
 *   -1 <= y <= H and -1 <= x <= W, takes y <= 0 as 0, y_low = floor(y) and y_high = y_low + 1 with
 *   weights 1 - (y - y_low) and y - y_low, except that y_low >= H - 1 reads row H - 1 only.
 * The batch index b is boxes[k, 0] truncated toward zero (torchvision's int cast). A roi whose b lies
 * outside [0, N) (NaN included), or whose scaled corners or size are not finite (NaN, inf), has no
 * samples: its outputs are 0 and it gets no gradient (torchvision reads out of bounds or overflows
 * there). The work per output is bounded by the samples inside the image (those outside add 0 and
 * are skipped), so a huge roi costs what the image holds. Every backend rounds the same f32 operations
 * in the same order (products never fused into adds), so cpu, emu and cuda give the same bits (the
 * tests compare each device's with the cpu's). */
DK_API dk_status dk_roi_align(dk_context* ctx, const dk_tensor* input, const dk_tensor* boxes, int32_t output_h,
                              int32_t output_w, double spatial_scale, int32_t sampling_ratio, int32_t aligned,
                              dk_tensor* out);
/* The gradient of dk_roi_align's input: grad_input [N, C, H, W] (its shape gives the input's) from
 * grad_out [K, C, output_h, output_w] (its shape gives the output size), both in boxes' dtype, the
 * other parameters as the forward's. Each sample inside the image adds (grad_out * w) / count to each
 * of its 4 taps (w its bilinear weight; torchvision's formula), summed in one fixed order per element
 * (roi, ph, pw, iy, ix, tap). The GPU kernels gather (each element adds up what the rois reaching its
 * tile of the image give it; no atomics), so the result is bitwise deterministic on every backend;
 * every element is written, 0 where no roi reaches. */
DK_API dk_status dk_roi_align_backward(dk_context* ctx, const dk_tensor* grad_out, const dk_tensor* boxes,
                                       double spatial_scale, int32_t sampling_ratio, int32_t aligned,
                                       dk_tensor* grad_input);

/* ---- 2-D pooling (kernels/pool/pool.cu) ----
 * torch.nn.functional.max_pool2d / avg_pool2d / adaptive_max_pool2d / adaptive_avg_pool2d.
 * x [N, C, H, W] (NCHW) or [N, H, W, C] (NHWC), N >= 0, C, H, W >= 1, f32 / f16 / bf16 (f32 math);
 * out [N, C, Ho, Wo] (or NHWC) in x's dtype. Windowed: output o of a dim covers the taps
 * o * stride - pad + t * dilation (t < kernel) inside the image, with
 *   Ho = floor_or_ceil((H + 2 pad_h - dilation_h (kernel_h - 1) - 1) / stride_h) + 1,
 * ceil mode dropping a last window that would start in the right padding; pad <= kernel / 2; average
 * pooling takes dilation 1 and divides by divisor_override (when not 0), else by the window's size
 * clipped at H + pad (count_include_pad) or at the image. Adaptive: Ho = output_h and output o's bin
 * is [floor(o H / Ho), ceil((o + 1) H / Ho)). Max: NaN propagates; indices (optional, max only,
 * int64 shaped like out) receive each output's argmax as h * W + w within its plane. */
typedef enum dk_pool_kind {
    DK_POOL_MAX = 0,
    DK_POOL_AVG = 1
} dk_pool_kind;

typedef struct dk_pool2d_params {
    int32_t layout;                  /* dk_layout */
    int32_t kind;                    /* dk_pool_kind */
    int32_t adaptive;                /* 1: adaptive bins of output_h x output_w; the window fields are not read */
    int32_t output_h, output_w;      /* adaptive only, >= 0 */
    int32_t kernel_h, kernel_w;      /* >= 1 */
    int32_t stride_h, stride_w;      /* >= 1 */
    int32_t pad_h, pad_w;            /* 0 .. kernel / 2, on both sides */
    int32_t dilation_h, dilation_w;  /* >= 1; 1 for average pooling */
    int32_t ceil_mode;               /* 0 or 1 */
    int32_t count_include_pad;       /* average only: 0 or 1 */
    int32_t divisor_override;        /* average only: 0 = none */
} dk_pool2d_params;

DK_API dk_status dk_pool2d_forward(dk_context* ctx, const dk_pool2d_params* params, const dk_tensor* x,
                                   dk_tensor* out, dk_tensor* indices);
/* The 4 extents of dk_pool2d_forward's out for x, validating params and x as the forward does (x's
 * data is not read and may be NULL). */
DK_API dk_status dk_pool2d_output_shape(dk_context* ctx, const dk_pool2d_params* params, const dk_tensor* x,
                                        int64_t* out_shape);
/* The gradient of x (grad_x's shape gives the input's) for grad_out shaped like the forward's out;
 * max pooling reads the forward's indices (required), average pooling takes none. A gather: every
 * element of grad_x is written, deterministically. */
DK_API dk_status dk_pool2d_backward(dk_context* ctx, const dk_pool2d_params* params, const dk_tensor* grad_out,
                                    const dk_tensor* indices, dk_tensor* grad_x);

/* ---- pooling pyramids (kernels/pool/pyramid.cu), each one launch reading x once ----
 * x [N, C, H, W] (NCHW) or [N, H, W, C] (NHWC), f32 / f16 / bf16, N >= 0, C, H, W >= 1.
 * DK_PYRAMID_SPP: spatial pyramid pooling (He et al.): out [N, C * sum(levels[l]^2)] holds, level
 *   after level, adaptive_max_pool2d(x, levels[l]) flattened as [C, l, l] (torch's bins, whatever
 *   the layout).
 * DK_PYRAMID_SPPF: YOLOv5's SPPF pooling: out [N, 4C, H, W] (or [N, H, W, 4C]) is the channel concat
 *   of x, m(x), m(m(x)), m(m(m(x))) with m = max_pool2d(kernel, stride 1, padding kernel / 2);
 *   with kernel 5 that is x and max pools of 5, 9 and 13 (YOLOv4's SPP). NaN propagates. */
#define DK_MAX_PYRAMID_LEVELS 8

typedef enum dk_pyramid_kind {
    DK_PYRAMID_SPP = 0,
    DK_PYRAMID_SPPF = 1
} dk_pyramid_kind;

typedef struct dk_pyramid_pool_params {
    int32_t layout;                          /* dk_layout */
    int32_t kind;                            /* dk_pyramid_kind */
    int32_t num_levels;                      /* SPP: 1 .. DK_MAX_PYRAMID_LEVELS */
    int32_t levels[DK_MAX_PYRAMID_LEVELS];   /* SPP: each grid size >= 1 */
    int32_t kernel;                          /* SPPF: odd, 1 .. 13 */
} dk_pyramid_pool_params;

DK_API dk_status dk_pyramid_pool_forward(dk_context* ctx, const dk_pyramid_pool_params* params, const dk_tensor* x,
                                         dk_tensor* out);
/* The shape of dk_pyramid_pool_forward's out for x (at most 16 extents into out_shape, their count
 * into *out_ndim), validating as the forward does (x's data is not read and may be NULL). */
DK_API dk_status dk_pyramid_pool_output_shape(dk_context* ctx, const dk_pyramid_pool_params* params,
                                              const dk_tensor* x, int64_t* out_shape, int32_t* out_ndim);

/* ---- resizing (kernels/resize/resize.cu): torch.nn.functional.interpolate on images ----
 * x [N, C, H, W] (NCHW) or [N, H, W, C] (NHWC), f32 / f16 / bf16 (f32 math), N >= 0, C, H, W >= 1;
 * out [N, C, output_h, output_w] (or NHWC), output sizes >= 1. Each axis maps output o to source
 * position s(o) with torch's scale: align_corners ? (in - 1) / (out - 1) : 1 / scale (when the size
 * came from a scale factor: scale_h / scale_w > 0, torch's recompute_scale_factor=False) : in / out.
 *   NEAREST:       x[min(floor(o * scale), in - 1)]  (OpenCV's INTER_NEAREST; torch's "nearest")
 *   NEAREST_EXACT: x[min(floor((o + 0.5) * scale), in - 1)]  (PIL's, scikit-image's)
 *     (both copy for out == in and take o / 2 for out == 2 in, as torch's CPU kernels)
 *   BILINEAR:      2 taps at s = align_corners ? o * scale : max((o + 0.5) * scale - 0.5, 0)
 *   BICUBIC:       4 taps (cubic convolution, A = -0.75), s unclamped, taps clamped to the image
 *   antialias (BILINEAR / BICUBIC): torch's antialiased path (Pillow's): a triangle / cubic (a = -0.5)
 *     filter stretched by the scale when downsampling, weights normalized over the taps inside.
 * align_corners and antialias are for BILINEAR / BICUBIC only (torch's rule). The backward is the
 * forward's transpose: grad_x [N, C, H, W] from grad_out shaped like out, a deterministic gather. */
typedef enum dk_interp_mode {
    DK_INTERP_NEAREST = 0,
    DK_INTERP_NEAREST_EXACT = 1,
    DK_INTERP_BILINEAR = 2,
    DK_INTERP_BICUBIC = 3
} dk_interp_mode;

typedef struct dk_interpolate_params {
    int32_t layout;          /* dk_layout */
    int32_t mode;            /* dk_interp_mode */
    int32_t align_corners;   /* 0 or 1 */
    int32_t antialias;       /* 0 or 1 */
    double scale_h, scale_w; /* the scale factors the output size came from, or 0: in / out */
} dk_interpolate_params;

DK_API dk_status dk_interpolate_forward(dk_context* ctx, const dk_interpolate_params* params, const dk_tensor* x,
                                        dk_tensor* out);
DK_API dk_status dk_interpolate_backward(dk_context* ctx, const dk_interpolate_params* params,
                                         const dk_tensor* grad_out, dk_tensor* grad_x);

/* An image pyramid (MTCNN's): x resized (params: mode, align_corners, antialias; scales not read) to
 * every level of scale s_k = (min_size / min_object) * factor^k, k = 0, 1, ... while
 * min(H, W) * s_k >= min_size, level k being ceil(H s_k) x ceil(W s_k) (at most
 * DK_MAX_IMAGE_PYRAMID_LEVELS levels); all levels in ONE launch into one packed buffer: level k is a
 * compact [N, C, h_k, w_k] (or NHWC) at element offset sum_{j < k} N C h_j w_j. MTCNN: min_size 12,
 * min_object 20 (the smallest face), factor 0.709.
 * dk_image_pyramid_levels: the level sizes (h_k, w_k pairs into sizes, room for 2 *
 * DK_MAX_IMAGE_PYRAMID_LEVELS) and their count, validating as the forward does (x's data not read). */
#define DK_MAX_IMAGE_PYRAMID_LEVELS 32

typedef struct dk_image_pyramid_params {
    dk_interpolate_params resize;  /* scale_h / scale_w not read */
    double min_size;               /* > 0: the detector's window, 12 for MTCNN's P-Net */
    double min_object;             /* >= min_size: the smallest object to find */
    double factor;                 /* in (0, 1): the scale step */
} dk_image_pyramid_params;

DK_API dk_status dk_image_pyramid_levels(dk_context* ctx, const dk_image_pyramid_params* params, const dk_tensor* x,
                                         int64_t* sizes, int32_t* count);
/* out: 1-D, x's dtype, sum over the levels of N C h_k w_k elements. */
DK_API dk_status dk_image_pyramid_forward(dk_context* ctx, const dk_image_pyramid_params* params, const dk_tensor* x,
                                          dk_tensor* out);

/* ---- scaled dot-product attention (kernels/attention/attention.cu), FlashAttention-2 style ----
 * q [B, Hq, Lq, D], k and v [B, Hkv, Lk, D], Hkv divides Hq (query head h reads kv head
 * h / (Hq / Hkv): GQA, MQA when Hkv = 1); D in {32, 64, 96, 128, 256}; f32, f16 or bf16, one dtype.
 *   s[i, j] = scale * q_i . k_j + bias[b, h, i, j],  out_i = sum_j softmax_j(s[i, :]) v_j,
 *   logsumexp_i = log sum_j exp(s[i, j])  (natural log, over the allowed keys only).
 * Key j is allowed for query row i when j < key_length[b] (Lk without key_lengths) and, with a
 * causal mask, j <= i (DK_CAUSAL_TOP_LEFT, PyTorch's is_causal) or j <= i + key_length[b] - Lq
 * (DK_CAUSAL_BOTTOM_RIGHT: the last query row sees every key, as when decoding with a cache; with
 * key_lengths it aligns to each sequence's own length). A row with no allowed key (or only keys
 * whose bias is -inf) gets out = 0 and logsumexp = -inf and contributes zero gradients - the
 * FlashAttention convention; PyTorch's math path would give NaN there.
 * key_lengths (optional): int32 or int64 [B] on the context's device; values are clamped to
 * [0, Lk] (they are not read on the host). bias (optional): q's dtype or f32, rank <= 4,
 * broadcastable to [B, Hq, Lq, Lk] through size-1 dims (aligned at the last dim, as in PyTorch);
 * it gets no gradient. Extra memory is O(B Hq Lq D), never O(Lq Lk): the probabilities are
 * recomputed in tiles. */
typedef enum dk_causal_mask {
    DK_CAUSAL_NONE = 0,
    DK_CAUSAL_TOP_LEFT = 1,
    DK_CAUSAL_BOTTOM_RIGHT = 2
} dk_causal_mask;

typedef struct dk_attention_params {
    double scale;    /* 0 or NaN: 1 / sqrt(D); otherwise finite */
    int32_t causal;  /* dk_causal_mask */
} dk_attention_params;

/* out [B, Hq, Lq, D] in q's dtype, logsumexp f32 [B, Hq, Lq]. q, k, v and out may be views whose
 * head dim is contiguous (a fused QKV projection's [B, L, H, D] output permuted to [B, H, L, D],
 * say): the forward reads and writes their rows through the strides, without a copy. */
DK_API dk_status dk_attention_forward(dk_context* ctx, const dk_attention_params* params, const dk_tensor* q,
                                      const dk_tensor* k, const dk_tensor* v, const dk_tensor* key_lengths,
                                      const dk_tensor* bias, dk_tensor* out, dk_tensor* logsumexp);
/* The shapes of dk_attention_forward's out (4 extents) and logsumexp (3), validating params, q, k,
 * v, key_lengths and bias as it does: ask before allocating the outputs. */
DK_API dk_status dk_attention_output_shapes(dk_context* ctx, const dk_attention_params* params, const dk_tensor* q,
                                            const dk_tensor* k, const dk_tensor* v, const dk_tensor* key_lengths,
                                            const dk_tensor* bias, int64_t* out_shape, int64_t* logsumexp_shape);
/* The gradients of sum(grad_out * out) from the forward's out and logsumexp (the probabilities are
 * recomputed from them): grad_q like q, grad_k like k, grad_v like v. The gradients must not
 * overlap any input or each other. Workspace: f32 [B, Hq, Lq] (rowsum(grad_out * out)) plus, on
 * cuda and emu, an f32 [B, Hq, Lq, D] dQ accumulator. */
DK_API dk_status dk_attention_backward(dk_context* ctx, const dk_attention_params* params, const dk_tensor* q,
                                       const dk_tensor* k, const dk_tensor* v, const dk_tensor* key_lengths,
                                       const dk_tensor* bias, const dk_tensor* out, const dk_tensor* logsumexp,
                                       const dk_tensor* grad_out, dk_tensor* grad_q, dk_tensor* grad_k,
                                       dk_tensor* grad_v);

/* ---- losses ----
 * torch.nn.functional's losses as fused kernels (kernels/loss/loss.cu), forward and backward. Every
 * loss reads f32, f16 or bf16, computes in f32 and writes its input's dtype. Reduced losses
 * (mean, sum) are deterministic: fixed chunks of items summed in a fixed order into partials, then
 * the partials in a fixed order, on every backend (no atomics): the same bits on every run, and the
 * same bits on cpu and emu. A reduced loss is a 0-d tensor; its backward takes a 0-d grad_out. */
typedef enum dk_reduction {
    DK_REDUCTION_NONE = 0, /* the loss of each element (row), shaped like the target */
    DK_REDUCTION_MEAN = 1, /* the mean: over the elements, or cross-entropy's non-ignored rows; none: NaN */
    DK_REDUCTION_SUM = 2   /* the sum; none: 0 */
} dk_reduction;

typedef enum dk_loss_kind {
    DK_LOSS_MSE = 0,             /* (x - t)^2 */
    DK_LOSS_L1 = 1,              /* |x - t| */
    DK_LOSS_SMOOTH_L1 = 2,       /* |d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta, d = x - t (beta 0: l1) */
    DK_LOSS_BCE_WITH_LOGITS = 3  /* (1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0)) */
} dk_loss_kind;

/* An element-wise loss of input x and target t (same shape and dtype). beta: smooth l1's (finite,
 * >= 0), ignored by the others. pos_weight: binary cross-entropy only (NULL otherwise, or for none):
 * x's dtype, 1-D with 1 element or x's last extent, the weight pw of the positive term broadcast
 * along x's last dim. out: x's shape for DK_REDUCTION_NONE, 0-d otherwise. */
DK_API dk_status dk_loss_forward(dk_context* ctx, int32_t kind, int32_t reduction, float beta, const dk_tensor* input,
                                 const dk_tensor* target, const dk_tensor* pos_weight, dk_tensor* out);
/* The gradient of the loss with respect to input, given grad_out (0-d for mean and sum, the loss's
 * shape for none): grad_input like input. The target gets no gradient. */
DK_API dk_status dk_loss_backward(dk_context* ctx, int32_t kind, int32_t reduction, float beta,
                                  const dk_tensor* input, const dk_tensor* target, const dk_tensor* pos_weight,
                                  const dk_tensor* grad_out, dk_tensor* grad_input);

/* Cross-entropy (torch's cross_entropy with class indices): logits [N, C] or [N, C, d1, ...] (or
 * [C] with a 0-d target), target i32 or i64 class indices shaped like logits without dim 1. Row loss:
 * logsumexp(x) - (1 - s) x_y - s mean_c(x_c), s = label_smoothing in [0, 1]; 0 for a row whose
 * target is ignore_index. Mean divides by the non-ignored rows (all ignored: NaN). A target outside
 * [0, C) that is not ignore_index is an error on cpu and emu (checked before any kernel runs); on
 * cuda it is not checked (torch's device assert) and gives that row a NaN loss and NaN gradient,
 * never an out-of-bounds read. */
typedef struct dk_cross_entropy_params {
    int32_t reduction;      /* dk_reduction */
    int64_t ignore_index;   /* torch's default: -100 */
    float label_smoothing;  /* in [0, 1] */
} dk_cross_entropy_params;

/* out: target's shape for none, 0-d otherwise, logits' dtype. */
DK_API dk_status dk_cross_entropy_forward(dk_context* ctx, const dk_cross_entropy_params* params,
                                          const dk_tensor* logits, const dk_tensor* target, dk_tensor* out);
/* grad_logits like logits: grad_out's share times (softmax(x) - (1 - s) onehot(y) - s / C); 0 for an
 * ignored row. */
DK_API dk_status dk_cross_entropy_backward(dk_context* ctx, const dk_cross_entropy_params* params,
                                           const dk_tensor* logits, const dk_tensor* target,
                                           const dk_tensor* grad_out, dk_tensor* grad_logits);

/* CenterNet's penalty-reduced pixel-wise focal loss (Zhou et al. 2019, the repo's _neg_loss) of
 * logits x against a heatmap gt of the same shape and dtype, p = sigmoid(x):
 *   sum over gt == 1 of -(1 - p)^alpha log p, plus over gt < 1 of -(1 - gt)^beta p^alpha log(1 - p),
 *   divided by max(1, the number of gt == 1),
 * with log p = -softplus(-x) and log(1 - p) = -softplus(x) (no clamped sigmoid). alpha, beta finite
 * and >= 0 (CenterNet: 2, 4). out 0-d; grad_out 0-d; grad_logits like logits. */
DK_API dk_status dk_centernet_focal_loss_forward(dk_context* ctx, float alpha, float beta, const dk_tensor* logits,
                                                 const dk_tensor* heatmap, dk_tensor* out);
DK_API dk_status dk_centernet_focal_loss_backward(dk_context* ctx, float alpha, float beta, const dk_tensor* logits,
                                                  const dk_tensor* heatmap, const dk_tensor* grad_out,
                                                  dk_tensor* grad_logits);

/* ---- kernel emulator (emu contexts) ---- */
typedef enum dk_emu_schedule {
    DK_EMU_FORWARD = 0, /* threads of a block run in thread-index order between barriers */
    DK_EMU_REVERSE = 1, /* in reverse order */
    DK_EMU_RANDOM = 2   /* in an order drawn from schedule_seed, new at every barrier */
} dk_emu_schedule;

/* Shared memory a block may use (static + dynamic, past 48 KB with the kernel's opt-in) on the GPUs
 * the cuda backend runs on, for dk_emu_options.shared_limit. The default is the smallest, so a
 * launch the emulator accepts launches on every one of them. */
#define DK_SHARED_WITHOUT_OPT_IN 49152 /* 48 KB: dynamic shared memory any launch may take, and the
                                          most a kernel may declare statically */
#define DK_SHARED_LIMIT_SM80 166912 /* 163 KB: A100 (sm_80), A30 */
#define DK_SHARED_LIMIT_SM86 101376 /* 99 KB: sm_86 and sm_89 (RTX 30xx/40xx, A10, L4, L40) */
#define DK_SHARED_LIMIT_SM90 232448 /* 227 KB: H100, H200 (sm_90) */

typedef struct dk_emu_options {
    int32_t schedule;          /* dk_emu_schedule; a result that changes with it reveals a race */
    uint64_t schedule_seed;    /* for DK_EMU_RANDOM */
    int64_t shared_limit;      /* bytes of shared memory a block may use, static + dynamic;
                                  default DK_SHARED_LIMIT_SM86 */
    int32_t threads;           /* OS threads running blocks; 0 = every worker of the pool */
    int32_t compute_capability; /* the GPU emulated, major * 10 + minor: 80, 86 (default), 89 or 90.
                                   Kernels are chosen for it as on that GPU (90: the sm_90a kernels,
                                   wgmma and TMA), and sm_90 instructions fail below 90 */
} dk_emu_options;

DK_API dk_status dk_emu_get_options(const dk_context* ctx, dk_emu_options* options);
DK_API dk_status dk_emu_set_options(dk_context* ctx, const dk_emu_options* options);

#ifdef __cplusplus
}
#endif

#endif /* DEEPKERN_H */
