#include "allocator.h"

#include <cstring>

#include "deepkern/error.h"

namespace dk {

size_t CachingAllocator::size_class(size_t bytes) {
    constexpr size_t min_class = 512;
    if (bytes <= min_class) return min_class;
    size_t pow2 = size_t(1) << (63 - __builtin_clzll(bytes));  // largest power of two <= bytes
    size_t step = pow2 / 4 < min_class ? min_class : pow2 / 4;
    return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
    if (bytes == 0) return nullptr;
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* p = nullptr;
    auto it = free_lists_.find(cls);
    if (it != free_lists_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        stats_.cached -= int64_t(cls);
        stats_.cache_hits++;
    } else {
        p = raw_.alloc(cls, device_);
        if (!p && stats_.cached > 0) {  // give the cache back and try once more
            empty_cache_locked();
            p = raw_.alloc(cls, device_);
        }
        if (!p)
            throw Error(DK_ERROR_OUT_OF_MEMORY,
                        "out of memory allocating " + std::to_string(bytes) + " bytes (" +
                            std::to_string(stats_.in_use) + " bytes in use)");
        stats_.reserved += int64_t(cls);
    }
    if (poison_) std::memset(p, 0xFF, cls);
    live_.emplace(p, cls);
    stats_.alloc_count++;
    stats_.in_use += int64_t(cls);
    if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
    return p;
}

void CachingAllocator::release(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end())
        throw Error(DK_ERROR_INVALID_ARGUMENT,
                    "argument 'ptr': not a live allocation of this context (double free?)");
    const size_t cls = it->second;
    live_.erase(it);
    free_lists_[cls].push_back(p);
    stats_.in_use -= int64_t(cls);
    stats_.cached += int64_t(cls);
}

dk_memory_stats CachingAllocator::stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
}

void CachingAllocator::reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_in_use = stats_.in_use;
}

void CachingAllocator::empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    empty_cache_locked();
}

void CachingAllocator::empty_cache_locked() {
    for (auto& [cls, blocks] : free_lists_) {
        for (void* p : blocks) raw_.free(p, device_);
        stats_.reserved -= int64_t(cls * blocks.size());
        stats_.cached -= int64_t(cls * blocks.size());
        blocks.clear();
    }
}

CachingAllocator::~CachingAllocator() {
    empty_cache_locked();
    for (auto& [p, cls] : live_) raw_.free(p, device_);
}

}  // namespace dk
