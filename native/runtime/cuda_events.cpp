// cuda_events.cpp - CUDA events for dk_timer (see cuda_events.h).
#include "cuda_events.h"

#include <cuda_runtime_api.h>
#include <string>

#include "deepkern/error.h"

namespace dk::cudart {

static void check(cudaError_t err, const char* what) {
    if (err == cudaSuccess) return;
    cudaGetLastError();
    throw Error(DK_ERROR_DEVICE, std::string(what) + ": " + cudaGetErrorString(err));
}

void* event_create() {
    cudaEvent_t e;
    check(cudaEventCreate(&e), "cudaEventCreate");
    return e;
}

void event_destroy(void* event) { cudaEventDestroy(static_cast<cudaEvent_t>(event)); }

void event_record(void* event, void* stream) {
    check(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)), "cudaEventRecord");
}

double event_elapsed_ms(void* start, void* stop) {
    check(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)),
          "cudaEventElapsedTime");
    return ms;
}

}  // namespace dk::cudart
