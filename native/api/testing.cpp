// testing.cpp - the entry points of deepkern_testing.h: a stopwatch on the context's stream (CUDA
// events on cuda, the monotonic clock elsewhere), the FMA-bound roofline kernel and a no-op
// for measuring the cost of a call into the library.
#include <chrono>
#include <memory>

#include "api.h"
#include "bench/roofline.h"
#include "deepkern_testing.h"
#include "validate.h"
#if DK_HAVE_CUDA
#include "cuda_events.h"
#endif

using namespace dk;

struct dk_timer {
    dk_context* ctx;
    void* start_event = nullptr;  // cuda only
    void* stop_event = nullptr;
    std::chrono::steady_clock::time_point start_time;

    bool on_cuda() const { return ctx->device.device_type == DK_DEVICE_CUDA; }
};

extern "C" {

DK_API dk_status dk_timer_create(dk_context* ctx, dk_timer** timer) {
    return guard_ctx("dk_timer_create", ctx, [&] {
        if (!timer) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'timer': NULL");
        auto t = std::make_unique<dk_timer>();
        t->ctx = ctx;
#if DK_HAVE_CUDA
        if (t->on_cuda()) {
            t->start_event = cudart::event_create();
            t->stop_event = cudart::event_create();
        }
#endif
        *timer = t.release();
    });
}

DK_API dk_status dk_timer_destroy(dk_timer* timer) {
    return guard("dk_timer_destroy", [&] {
        if (!timer) return;
#if DK_HAVE_CUDA
        if (timer->on_cuda()) {
            activate(timer->ctx);
            cudart::event_destroy(timer->start_event);
            cudart::event_destroy(timer->stop_event);
        }
#endif
        delete timer;
    });
}

DK_API dk_status dk_timer_start(dk_timer* timer) {
    return guard("dk_timer_start", [&] {
        if (!timer) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'timer': NULL");
        activate(timer->ctx);
#if DK_HAVE_CUDA
        if (timer->on_cuda()) {
            cudart::event_record(timer->start_event, timer->ctx->exec.stream);
            return;
        }
#endif
        timer->start_time = std::chrono::steady_clock::now();
    });
}

DK_API dk_status dk_timer_stop(dk_timer* timer, double* milliseconds) {
    return guard("dk_timer_stop", [&] {
        if (!timer) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'timer': NULL");
        if (!milliseconds) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'milliseconds': NULL");
        activate(timer->ctx);
#if DK_HAVE_CUDA
        if (timer->on_cuda()) {
            cudart::event_record(timer->stop_event, timer->ctx->exec.stream);
            *milliseconds = cudart::event_elapsed_ms(timer->start_event, timer->stop_event);
            return;
        }
#endif
        *milliseconds =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - timer->start_time).count();
    });
}

DK_API dk_status dk_roofline_fma(dk_context* ctx, dk_tensor* out, int32_t iterations) {
    return guard_ctx("dk_roofline_fma", ctx, [&] {
        Checked o = check_tensor(ctx, "out", out);
        if (o.dtype != DType::f32) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'out': expected an f32 tensor");
        if (iterations < 1)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'iterations': expected >= 1, got " + std::to_string(iterations));
        DK_BACKEND_CALL(ctx, roofline_fma, static_cast<float*>(o.data), o.numel, iterations);
    });
}

DK_API dk_status dk_noop(const dk_context* ctx) {
    return guard_ctx("dk_noop", ctx, [] {});
}

}  // extern "C"
