// context.cpp - library info, backends, device queries, contexts, memory and copies.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include "api.h"
#include "thread_pool.h"
#if DK_HAVE_CUDA
#include "cudart.h"
#endif

#ifndef DK_VERSION
#define DK_VERSION "0.0.0"
#endif

namespace dk {

static thread_local std::string last_error;

void set_last_error(const std::string& message) { last_error = message; }

void fail(dk_status status, const std::string& message) { throw Error(status, message); }

static thread_local CallScratch* current_scratch = nullptr;

CallScratch::CallScratch() : outer_(current_scratch) { current_scratch = this; }

CallScratch::~CallScratch() {
    for (int i = count_; i-- > 0;) {
        try {
            blocks_[i].ctx->allocator.release(blocks_[i].data);
        } catch (const Error&) {
            // a block this call took itself: the allocator knows it; nothing to report from a destructor
        }
    }
    current_scratch = outer_;
}

void* call_scratch(dk_context* ctx, size_t bytes) {
    CallScratch* s = current_scratch;
    if (!s) fail(DK_ERROR_INTERNAL, "scratch memory outside a C API call");
    if (s->count_ == CallScratch::kMaxBlocks) fail(DK_ERROR_INTERNAL, "more views in one call than the scratch holds");
    void* p = ctx->allocator.allocate(bytes);
    s->blocks_[s->count_++] = {ctx, p};
    return p;
}

std::string device_name(const dk_device& d) {
    switch (d.device_type) {
        case DK_DEVICE_CPU: return "cpu";
        case DK_DEVICE_EMU: return "emu";
        case DK_DEVICE_CUDA: return "cuda:" + std::to_string(d.device_id);
        default: return "device type " + std::to_string(d.device_type);
    }
}

void activate(const dk_context* ctx) {
#if DK_HAVE_CUDA
    if (ctx->device.device_type == DK_DEVICE_CUDA) cudart::set_device(ctx->device.device_id);
#else
    (void)ctx;
#endif
}

namespace {

#if DK_HAVE_CUDA
// The driver is probed once: its answer does not change within a process.
struct CudaProbe {
    int count;
    std::string reason;
    CudaProbe() { count = cudart::device_count(&reason); }
};
const CudaProbe& cuda_probe() {
    static CudaProbe probe;
    return probe;
}
#endif

// Host memory for the cpu and emu backends: 256-byte aligned like cudaMalloc, so vector
// paths and alignment checks behave the same on every backend.
void* host_alloc(size_t bytes, int) { return std::aligned_alloc(256, (bytes + 255) / 256 * 256); }
void host_free(void* p, int) { std::free(p); }

std::string cpu_model_name() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    }
    return "CPU";
}

void check_device_type(int32_t type) {
    if (type != DK_DEVICE_CPU && type != DK_DEVICE_CUDA && type != DK_DEVICE_EMU)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'device_type': expected 1 (cpu), 2 (cuda) or 128 (emu), got " +
                                            std::to_string(type));
}

int count_devices(int32_t type) {
    switch (type) {
        case DK_DEVICE_CPU: return 1;
#if DK_HAVE_EMU
        case DK_DEVICE_EMU: return 1;
#endif
#if DK_HAVE_CUDA
        case DK_DEVICE_CUDA: return cuda_probe().count;
#endif
        default: return 0;
    }
}

const char* unavailable_reason(int32_t type) {
    switch (type) {
        case DK_DEVICE_CPU: return nullptr;
        case DK_DEVICE_EMU:
#if DK_HAVE_EMU
            return nullptr;
#else
            return "not built: this library was built without the kernel emulator";
#endif
        case DK_DEVICE_CUDA:
#if DK_HAVE_CUDA
            return cuda_probe().count > 0 ? nullptr : cuda_probe().reason.c_str();
#else
            return "not built: nvcc was not found (or DEEPKERN_CUDA=OFF) when this library was built";
#endif
    }
    return "unknown device type";
}

void check_device_id(int32_t type, int32_t id) {
    check_device_type(type);
    if (const char* reason = unavailable_reason(type))
        fail(DK_ERROR_UNAVAILABLE, device_name({type, 0}) + " backend unavailable: " + reason);
    const int n = count_devices(type);
    if (id < 0 || id >= n)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'device_id': expected 0.." + std::to_string(n - 1) +
                                            " for " + device_name({type, 0}) + ", got " + std::to_string(id));
}

void check_bytes(const char* name, int64_t bytes) {
    if (bytes < 0)
        fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument '") + name + "': expected a byte count >= 0, got " +
                                            std::to_string(bytes));
}

void check_pointer(const char* name, const void* p, int64_t bytes) {
    if (!p && bytes > 0)
        fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument '") + name + "': NULL pointer for " +
                                            std::to_string(bytes) + " bytes");
}

}  // namespace

// kind: 0 host to device, 1 device to host, 2 device to device (cudart::Copy's order).
static void transfer(const dk_context* ctx, void* dst, const void* src, size_t bytes, int kind) {
#if DK_HAVE_CUDA
    if (ctx->device.device_type == DK_DEVICE_CUDA) {
        cudart::copy(dst, src, bytes, cudart::Copy(kind), ctx->exec.stream);
        return;
    }
#endif
    (void)ctx;
    (void)kind;
    std::memmove(dst, src, bytes);
}

void copy_to_host(const dk_context* ctx, void* dst_host, const void* src, size_t bytes) {
    transfer(ctx, dst_host, src, bytes, 1);
}

}  // namespace dk

using namespace dk;

extern "C" {

DK_API const char* dk_version(void) { return DK_VERSION; }

DK_API const char* dk_last_error(void) { return dk::last_error.c_str(); }

DK_API dk_status dk_backend_info(int32_t device_type, int32_t* available, const char** reason) {
    return guard("dk_backend_info", [&] {
        check_device_type(device_type);
        const char* why = unavailable_reason(device_type);
        if (available) *available = why == nullptr;
        if (reason) *reason = why ? why : "";
    });
}

DK_API dk_status dk_device_count(int32_t device_type, int32_t* count) {
    return guard("dk_device_count", [&] {
        check_device_type(device_type);
        if (!count) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'count': NULL");
        *count = count_devices(device_type);
    });
}

// The emulated GPU's SMs: a constant, not the worker threads, because the kernels size their grids,
// split-K and split reductions by it (grid_for, gemm_k_splits, conv_weight_grad_splits), and with
// those the order of their sums: emu results keep their bits on any DEEPKERN_NUM_THREADS.
constexpr int kEmuMultiprocessors = 16;

DK_API dk_status dk_device_query(int32_t device_type, int32_t device_id, dk_device_props* props) {
    return guard("dk_device_query", [&] {
        if (!props) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'props': NULL");
        check_device_id(device_type, device_id);
        std::memset(props, 0, sizeof(*props));
        props->device_type = device_type;
        props->device_id = device_id;
#if DK_HAVE_CUDA
        if (device_type == DK_DEVICE_CUDA) {
            cudart::query(device_id, props);
            return;
        }
#endif
        std::string name = cpu_model_name();
        if (device_type == DK_DEVICE_EMU) name = "kernel emulator on " + name;
        std::snprintf(props->name, sizeof(props->name), "%s", name.c_str());
        props->multiprocessors = device_type == DK_DEVICE_EMU ? kEmuMultiprocessors : worker_count();
        props->total_memory = int64_t(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
        long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        props->l2_cache_bytes = l2 > 0 ? l2 : 0;
    });
}

DK_API dk_status dk_context_create(int32_t device_type, int32_t device_id, dk_context** out) {
    return guard("dk_context_create", [&] {
        if (!out) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'ctx': NULL");
        *out = nullptr;
        check_device_id(device_type, device_id);
        Exec exec;
        CachingAllocator::Raw raw{host_alloc, host_free};
        exec.multiprocessors = device_type == DK_DEVICE_EMU ? kEmuMultiprocessors : worker_count();
#if DK_HAVE_CUDA
        if (device_type == DK_DEVICE_CUDA) {
            cudart::set_device(device_id);
            dk_device_props props{};
            cudart::query(device_id, &props);
            exec.multiprocessors = props.multiprocessors;
            exec.compute_capability = 10 * props.compute_major + props.compute_minor;
            exec.stream = cudart::stream_create();
            raw = {cudart::malloc, cudart::free};
        }
#endif
        *out = new dk_context(dk_device{device_type, device_id}, exec, raw);
        // the GPU a new emu context stands for (dk_emu_options.compute_capability), with its shared memory
        const char* gpu = std::getenv("DEEPKERN_EMU_GPU");
        if (device_type == DK_DEVICE_EMU && gpu && *gpu) {
            const int cc = std::atoi(gpu);
            if (cc != 80 && cc != 86 && cc != 89 && cc != 90) {
                delete *out;
                *out = nullptr;
                fail(DK_ERROR_INVALID_ARGUMENT, std::string("DEEPKERN_EMU_GPU: expected 80, 86, 89 or 90, got '") + gpu + "'");
            }
            (*out)->emu_options.compute_capability = cc;
            (*out)->emu_options.shared_limit = cc == 90 ? DK_SHARED_LIMIT_SM90 : cc == 80 ? DK_SHARED_LIMIT_SM80
                                                                                           : DK_SHARED_LIMIT_SM86;
        }
        const char* poison = std::getenv("DEEPKERN_POISON_MEMORY");
        (*out)->allocator.set_poison(device_type != DK_DEVICE_CUDA && poison && *poison && std::strcmp(poison, "0") != 0);
    });
}

DK_API dk_status dk_context_destroy(dk_context* ctx) {
    return guard("dk_context_destroy", [&] {
        if (!ctx) return;
#if DK_HAVE_CUDA
        if (ctx->device.device_type == DK_DEVICE_CUDA) {
            cudart::set_device(ctx->device.device_id);
            cudart::stream_synchronize(ctx->exec.stream);
            void* stream = ctx->exec.stream;
            delete ctx;
            cudart::stream_destroy(stream);
            return;
        }
#endif
        delete ctx;
    });
}

DK_API dk_status dk_context_device(const dk_context* ctx, dk_device* device) {
    return guard_ctx("dk_context_device", ctx, [&] {
        if (!device) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'device': NULL");
        *device = ctx->device;
    });
}

DK_API dk_status dk_synchronize(dk_context* ctx) {
    return guard_ctx("dk_synchronize", ctx, [&] {
#if DK_HAVE_CUDA
        if (ctx->device.device_type == DK_DEVICE_CUDA) cudart::stream_synchronize(ctx->exec.stream);
#endif
    });
}

DK_API dk_status dk_set_seed(dk_context* ctx, uint64_t seed, uint64_t offset) {
    return guard_ctx("dk_set_seed", ctx, [&] {
        std::lock_guard<std::mutex> lock(ctx->rng_mutex);
        ctx->seed = seed;
        ctx->offset = offset;
    });
}

DK_API dk_status dk_get_seed(const dk_context* ctx, uint64_t* seed, uint64_t* offset) {
    return guard_ctx("dk_get_seed", ctx, [&] {
        auto* c = const_cast<dk_context*>(ctx);
        std::lock_guard<std::mutex> lock(c->rng_mutex);
        if (seed) *seed = c->seed;
        if (offset) *offset = c->offset;
    });
}

DK_API dk_status dk_set_allow_tf32(dk_context* ctx, int32_t allow) {
    return guard_ctx("dk_set_allow_tf32", ctx, [&] {
        if (allow != 0 && allow != 1)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'allow': expected 0 or 1, got " + std::to_string(allow));
        ctx->allow_tf32 = allow != 0;
    });
}

DK_API dk_status dk_get_allow_tf32(const dk_context* ctx, int32_t* allow) {
    return guard_ctx("dk_get_allow_tf32", ctx, [&] {
        if (!allow) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'allow': NULL");
        *allow = ctx->allow_tf32 ? 1 : 0;
    });
}

DK_API dk_status dk_set_deterministic(dk_context* ctx, int32_t deterministic) {
    return guard_ctx("dk_set_deterministic", ctx, [&] {
        if (deterministic != 0 && deterministic != 1)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'deterministic': expected 0 or 1, got " + std::to_string(deterministic));
        ctx->deterministic = deterministic != 0;
    });
}

DK_API dk_status dk_get_deterministic(const dk_context* ctx, int32_t* deterministic) {
    return guard_ctx("dk_get_deterministic", ctx, [&] {
        if (!deterministic) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'deterministic': NULL");
        *deterministic = ctx->deterministic ? 1 : 0;
    });
}

DK_API dk_status dk_malloc(dk_context* ctx, int64_t bytes, void** ptr) {
    return guard_ctx("dk_malloc", ctx, [&] {
        if (!ptr) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'ptr': NULL");
        *ptr = nullptr;
        check_bytes("bytes", bytes);
        *ptr = ctx->allocator.allocate(size_t(bytes));
    });
}

DK_API dk_status dk_free(dk_context* ctx, void* ptr) {
    return guard_ctx("dk_free", ctx, [&] { ctx->allocator.release(ptr); });
}

DK_API dk_status dk_memory_stats_get(dk_context* ctx, dk_memory_stats* stats) {
    return guard_ctx("dk_memory_stats_get", ctx, [&] {
        if (!stats) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'stats': NULL");
        *stats = ctx->allocator.stats();
    });
}

DK_API dk_status dk_memory_reset_peak(dk_context* ctx) {
    return guard_ctx("dk_memory_reset_peak", ctx, [&] { ctx->allocator.reset_peak(); });
}

DK_API dk_status dk_empty_cache(dk_context* ctx) {
    return guard_ctx("dk_empty_cache", ctx, [&] {
#if DK_HAVE_CUDA
        // blocks may still be in use by queued work until the stream drains
        if (ctx->device.device_type == DK_DEVICE_CUDA) cudart::stream_synchronize(ctx->exec.stream);
#endif
        ctx->allocator.empty_cache();
    });
}

static dk_status copy(const char* op, dk_context* ctx, void* dst, const void* src, int64_t bytes,
                      int kind) {
    return guard_ctx(op, ctx, [&] {
        check_bytes("bytes", bytes);
        check_pointer("dst", dst, bytes);
        check_pointer("src", src, bytes);
        if (bytes != 0) transfer(ctx, dst, src, size_t(bytes), kind);
    });
}

DK_API dk_status dk_copy_from_host(dk_context* ctx, void* dst, const void* src_host, int64_t bytes) {
    return copy("dk_copy_from_host", ctx, dst, src_host, bytes, 0);
}

DK_API dk_status dk_copy_to_host(dk_context* ctx, void* dst_host, const void* src, int64_t bytes) {
    return copy("dk_copy_to_host", ctx, dst_host, src, bytes, 1);
}

DK_API dk_status dk_copy_device(dk_context* ctx, void* dst, const void* src, int64_t bytes) {
    return copy("dk_copy_device", ctx, dst, src, bytes, 2);
}

}  // extern "C"
