// api.h - what every C API entry point shares: the context object and the guard that turns
// C++ exceptions into a dk_status plus the calling thread's last-error message.
#pragma once

#include <cstdint>
#include <atomic>
#include <mutex>
#include <string>

#include "deepkern.h"
#include "deepkern/emu/options.h"
#include "deepkern/error.h"
#include "deepkern/backend.h"
#include "allocator.h"

struct dk_context {
    dk_device device;
    dk::Exec exec;
    dk::CachingAllocator allocator;
    std::mutex rng_mutex;
    uint64_t seed = 0;
    uint64_t offset = 0;
    std::atomic<bool> allow_tf32{false};     // dk_set_allow_tf32: read by every f32 matmul, linear and conv
    std::atomic<bool> deterministic{false};  // dk_set_deterministic: read by the attention backward
    dk::EmuOptions emu_options;  // emu contexts: read by every launch through exec.emu

    dk_context(dk_device d, dk::Exec e, dk::CachingAllocator::Raw raw)
        : device(d), exec(e), allocator(raw, d.device_id) {
        exec.emu = &emu_options;
    }
};

namespace dk {

// Scratch memory for one op from its context's allocator, given back when the op returns. The
// allocator is stream-ordered, so the block goes only to work queued after this op's kernels.
class Workspace {
public:
    Workspace(dk_context* ctx, size_t bytes) : ctx_(ctx), data_(ctx->allocator.allocate(bytes)) {}
    ~Workspace() { ctx_->allocator.release(data_); }
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    float* floats() const { return static_cast<float*>(data_); }

private:
    dk_context* ctx_;
    void* data_;
};

// Memory for the C call in progress (compact copies of the views it reads), from ctx's allocator,
// given back when the call returns: the allocator is stream-ordered, so it goes only to later work.
void* call_scratch(dk_context* ctx, size_t bytes);

// The scratch blocks of the C call in progress on this thread, given back at its end.
class CallScratch {
public:
    CallScratch();
    ~CallScratch();
    CallScratch(const CallScratch&) = delete;
    CallScratch& operator=(const CallScratch&) = delete;

private:
    friend void* call_scratch(dk_context* ctx, size_t bytes);
    struct Block {
        dk_context* ctx;
        void* data;
    };
    static constexpr int kMaxBlocks = 16;
    Block blocks_[kMaxBlocks];
    int count_ = 0;
    CallScratch* outer_;
};

void set_last_error(const std::string& message);
[[noreturn]] void fail(dk_status status, const std::string& message);
std::string device_name(const dk_device& d);

// Copies bytes of ctx's device memory to the host once the work queued before it is done (the
// stream is synchronized on cuda; cpu and emu work is done when queued).
void copy_to_host(const dk_context* ctx, void* dst_host, const void* src, size_t bytes);

// Makes the context's device current for this thread (cuda); a no-op elsewhere.
void activate(const dk_context* ctx);

template <class F>
dk_status guard(const char* op, F&& body) {
    try {
        CallScratch scratch;
        body();
        return DK_SUCCESS;
    } catch (const Error& e) {
        set_last_error(std::string(op) + ": " + e.what());
        return e.status;
    } catch (const std::bad_alloc&) {
        set_last_error(std::string(op) + ": host memory exhausted");
        return DK_ERROR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_last_error(std::string(op) + ": internal error: " + e.what());
        return DK_ERROR_INTERNAL;
    } catch (...) {
        set_last_error(std::string(op) + ": internal error");
        return DK_ERROR_INTERNAL;
    }
}

// guard() for calls on a context: checks it is non-null and activates its device.
template <class F>
dk_status guard_ctx(const char* op, const dk_context* ctx, F&& body) {
    return guard(op, [&] {
        if (!ctx) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'ctx': expected a context, got NULL");
        activate(ctx);
        body();
    });
}

}  // namespace dk

// Calls backend op `fn` of the context's device type: dk::cpu::fn, dk::cuda::fn or dk::emu::fn.
#if DK_HAVE_CUDA
#define DK_IF_CUDA(...) __VA_ARGS__
#else
#define DK_IF_CUDA(...)
#endif
#if DK_HAVE_EMU
#define DK_IF_EMU(...) __VA_ARGS__
#else
#define DK_IF_EMU(...)
#endif
#define DK_BACKEND_CALL(ctx, fn, ...)                                                  \
    do {                                                                               \
        switch ((ctx)->device.device_type) {                                           \
            case DK_DEVICE_CPU: dk::cpu::fn((ctx)->exec, __VA_ARGS__); break;          \
            DK_IF_CUDA(case DK_DEVICE_CUDA: dk::cuda::fn((ctx)->exec, __VA_ARGS__); break;) \
            DK_IF_EMU(case DK_DEVICE_EMU: dk::emu::fn((ctx)->exec, __VA_ARGS__); break;)    \
            default: dk::fail(DK_ERROR_INTERNAL, "no backend for this context");       \
        }                                                                              \
    } while (0)

// fn with the scratch its backend's fn##_workspace(exec, dtype, args, &bytes) asks for, in
// args.field (null for 0 bytes), given back when the op returns.
#define DK_BACKEND_CALL_WITH_WORKSPACE(ctx, fn, dtype, args, field)       \
    do {                                                                  \
        int64_t dk_bytes_ = 0;                                            \
        DK_BACKEND_CALL(ctx, fn##_workspace, dtype, args, &dk_bytes_);    \
        const dk::Workspace dk_workspace_(ctx, size_t(dk_bytes_));        \
        (args).field = dk_bytes_ ? dk_workspace_.floats() : nullptr;      \
        DK_BACKEND_CALL(ctx, fn, dtype, args);                            \
    } while (0)
