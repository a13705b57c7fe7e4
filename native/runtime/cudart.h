// cudart.h - the host side of the cuda backend: the few CUDA runtime calls the native
// library makes (devices, memory, streams, copies). Compiled only when nvcc is found; the
// runtime is linked statically so the library loads where no CUDA is installed.
#pragma once

#include <cstddef>
#include <string>

#include "deepkern.h"

namespace dk::cudart {

// Device count, or 0 with `reason` set to the runtime's error text (no driver, no device).
int device_count(std::string* reason);
void query(int device, dk_device_props* props);
void set_device(int device);
void* stream_create();
void stream_destroy(void* stream);
void stream_synchronize(void* stream);
void* malloc(size_t bytes, int device);  // nullptr when out of memory
void free(void* p, int device);
enum class Copy { host_to_device, device_to_host, device_to_device };
void copy(void* dst, const void* src, size_t bytes, Copy kind, void* stream);

}  // namespace dk::cudart
