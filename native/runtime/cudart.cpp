// cudart.cpp - the CUDA runtime behind cudart.h: devices, streams, memory and copies, each
// failure a dk::Error naming the call.
#include "cudart.h"

#include <cstdio>
#include <cstring>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include "deepkern/error.h"

namespace dk::cudart {

static void check(cudaError_t err, const char* what) {
    if (err == cudaSuccess) return;
    cudaGetLastError();  // clear the sticky-free error state
    throw Error(err == cudaErrorMemoryAllocation ? DK_ERROR_OUT_OF_MEMORY : DK_ERROR_DEVICE,
                std::string(what) + ": " + cudaGetErrorString(err) + " (cuda error " +
                    std::to_string(int(err)) + ")");
}

int device_count(std::string* reason) {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        cudaGetLastError();
        if (!reason) return 0;
        // The runtime reports a missing driver library as an "insufficient" one: tell them apart.
        void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
        if (driver) dlclose(driver);
        if (!driver && (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice))
            *reason = "no NVIDIA driver found (libcuda.so.1 is not installed)";
        else
            *reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err) + " (cuda error " +
                      std::to_string(int(err)) + ")";
        return 0;
    }
    if (n == 0 && reason) *reason = "no CUDA device found";
    return n;
}

void query(int device, dk_device_props* props) {
    cudaDeviceProp p;
    check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
    std::snprintf(props->name, sizeof(props->name), "%s", p.name);
    props->compute_major = p.major;
    props->compute_minor = p.minor;
    props->multiprocessors = p.multiProcessorCount;
    props->total_memory = int64_t(p.totalGlobalMem);
    props->l2_cache_bytes = p.l2CacheSize;
    cudaDriverGetVersion(&props->driver_version);
    cudaRuntimeGetVersion(&props->runtime_version);
}

void set_device(int device) { check(cudaSetDevice(device), "cudaSetDevice"); }

void* stream_create() {
    cudaStream_t s;
    check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    return s;
}

void stream_destroy(void* stream) { cudaStreamDestroy(static_cast<cudaStream_t>(stream)); }

void stream_synchronize(void* stream) {
    check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
}

void* malloc(size_t bytes, int device) {
    cudaSetDevice(device);
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
        cudaGetLastError();
        return nullptr;
    }
    return p;
}

void free(void* p, int device) {
    cudaSetDevice(device);
    cudaFree(p);
}

void copy(void* dst, const void* src, size_t bytes, Copy kind, void* stream) {
    const cudaMemcpyKind k = kind == Copy::host_to_device   ? cudaMemcpyHostToDevice
                             : kind == Copy::device_to_host ? cudaMemcpyDeviceToHost
                                                            : cudaMemcpyDeviceToDevice;
    auto s = static_cast<cudaStream_t>(stream);
    check(cudaMemcpyAsync(dst, src, bytes, k, s), "cudaMemcpyAsync");
    // Host memory handed to us may be pageable and reused by the caller right after return.
    if (kind != Copy::device_to_device) check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
}

}  // namespace dk::cudart
