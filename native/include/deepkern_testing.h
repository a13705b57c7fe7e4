/*
 * deepkern_testing.h - entry points for benchmarks and profiling, not for models: a stopwatch on
 * a context's stream, the FMA-bound kernel behind the bench's arithmetic ceiling, and an empty
 * call. In libdeepkern beside deepkern.h's API, with a binding class of their own; deepkern.h's
 * conventions apply (every function returns dk_status, dk_last_error() says why).
 */
#ifndef DEEPKERN_TESTING_H
#define DEEPKERN_TESTING_H

#include "deepkern.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A stopwatch on the context's stream: CUDA events on cuda (device time between the two
 * points of the stream), the host's monotonic clock elsewhere (cpu and emu ops are done when
 * they return). dk_timer_stop waits for the work queued before it. */
typedef struct dk_timer dk_timer;
DK_API dk_status dk_timer_create(dk_context* ctx, dk_timer** timer);
DK_API dk_status dk_timer_destroy(dk_timer* timer);
DK_API dk_status dk_timer_start(dk_timer* timer);
DK_API dk_status dk_timer_stop(dk_timer* timer, double* milliseconds);
/* An FMA-bound kernel for the arithmetic ceiling: each element of the f32 tensor out is the
 * sum of 8 independent chains of `iterations` fused multiply-adds, i.e.
 * 16 * iterations * numel(out) floating-point operations. */
DK_API dk_status dk_roofline_fma(dk_context* ctx, dk_tensor* out, int32_t iterations);
/* Validates ctx and does nothing else: the cost of calling into the library. */
DK_API dk_status dk_noop(const dk_context* ctx);

#ifdef __cplusplus
}
#endif

#endif /* DEEPKERN_TESTING_H */
