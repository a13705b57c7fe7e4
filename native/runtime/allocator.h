// allocator.h - the per-context caching allocator.
//
// Device allocation (cudaMalloc) synchronizes and costs tens of microseconds, so freed blocks
// go to a free list per size class and are handed out again. Sizes are rounded to four classes
// per power of two (at most 25% slack, min 512 bytes). Safe to reuse on one in-order stream:
// a block freed after a launch is only handed to work queued after it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "deepkern.h"

namespace dk {

class CachingAllocator {
public:
    struct Raw {
        void* (*alloc)(size_t bytes, int device);  // nullptr when out of memory
        void (*free)(void* p, int device);
    };

    CachingAllocator(Raw raw, int device) : raw_(raw), device_(device) {}
    ~CachingAllocator();
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;

    void* allocate(size_t bytes);  // nullptr for 0 bytes; throws dk::Error when out of memory
    // Host memory only: fill every block handed out with 0xFF bytes (NaN in every float dtype),
    // so that reading memory nobody wrote shows up in results (DEEPKERN_POISON_MEMORY).
    void set_poison(bool poison) { poison_ = poison; }
    void release(void* p);         // throws dk::Error for a pointer it did not hand out
    dk_memory_stats stats();
    void reset_peak();
    void empty_cache();

    static size_t size_class(size_t bytes);

private:
    void empty_cache_locked();

    Raw raw_;
    int device_;
    bool poison_ = false;
    std::mutex mutex_;
    std::unordered_map<size_t, std::vector<void*>> free_lists_;
    std::unordered_map<void*, size_t> live_;
    dk_memory_stats stats_{};
};

}  // namespace dk
