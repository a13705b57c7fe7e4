// emu/shared.h - shared memory as the emulator checks it: the block's dynamic shared memory
// (DK_DYNAMIC_SHARED) and its static arrays (DK_SHARED), both bounds-checked on every index and
// poisoned with 0xff bytes when a block starts, so a read of what no thread of the block wrote
// gives NaN / -1 instead of the previous block's values. Static arrays count, with the launch's
// dynamic bytes, against the 48 KB CUDA allows statically and the options' shared_limit.
//
// Storage: a static array lives in a thread_local slot per declaration. An OS thread runs one
// block at a time, its threads as fibers, so every thread of the block sees the same slot; the
// first thread of a block to reach the declaration claims it (poison + count), the rest reuse it.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "deepkern/emu/runtime.h"

namespace dk::emu::rt {

[[noreturn]] void shared_out_of_bounds(const char* kind, const char* name, int64_t index, uint64_t extent,
                                       size_t element_bytes, size_t total_bytes);

// The array behind DK_DYNAMIC_SHARED: indexing is bounds-checked against the launch's
// shared_bytes; it converts to T* where a kernel needs a pointer.
template <typename T>
class SharedArray {
public:
    explicit SharedArray(const char* name)
        : data_(reinterpret_cast<T*>(dynamic_shared.base)), size_(dynamic_shared.bytes / sizeof(T)), name_(name) {}

    template <typename I>
    T& operator[](I i) const {
        if (i < 0 || uint64_t(i) >= size_)
            shared_out_of_bounds("dynamic", name_, int64_t(i), size_, sizeof(T), dynamic_shared.bytes);
        return data_[i];
    }
    operator T*() const { return data_; }

private:
    T* data_;
    uint64_t size_;
    const char* name_;
};

// A static shared array A = T[N] (or T[N][M]...) seen through its bounds: each [] checks its own
// dimension, the last one yields T&. Converts to T* (the decayed array) where a kernel needs a pointer.
template <typename A>
class CheckedArray;

template <typename T, size_t N>
class CheckedArray<T[N]> {
public:
    CheckedArray(T* data, const char* name) : data_(data), name_(name) {}

    template <typename I>
    decltype(auto) operator[](I i) const {
        if (i < 0 || uint64_t(i) >= N)
            shared_out_of_bounds("static", name_, int64_t(i), N, sizeof(T), sizeof(T[N]));
        if constexpr (std::is_array_v<T>)
            return CheckedArray<T>(data_[i], name_);
        else
            return (data_[i]);
    }
    operator T*() const { return data_; }

private:
    T* data_;
    const char* name_;
};

// The running block's claim on a static shared array: poisons it and counts its bytes (fails the
// launch when the block's static shared memory passes 48 KB or static + dynamic the shared_limit).
void claim_static_shared(void* storage, size_t bytes, const char* name);

// Bumped for every block an OS thread starts: a slot whose serial differs is not claimed yet.
inline thread_local uint64_t block_serial;

// State S of the running emulated thread that lives as long as its block (value-initialized at the
// block's start): the pending asynchronous work of wgmma and TMA stores.
template <class S>
S& thread_state() {
    static thread_local uint64_t serial = 0;
    static thread_local std::vector<S> all;
    if (serial != block_serial) {
        serial = block_serial;
        all.assign(size_t(blockDim.x) * blockDim.y * blockDim.z, S());
    }
    return all[threadIdx.x + size_t(blockDim.x) * (threadIdx.y + size_t(blockDim.y) * threadIdx.z)];
}

// One DK_SHARED declaration's storage, per OS thread.
template <typename A>
struct StaticShared {
    alignas(16) unsigned char bytes[sizeof(A)];
    uint64_t serial = 0;

    decltype(auto) view(const char* name) {
        if (serial != block_serial) {
            serial = block_serial;
            claim_static_shared(bytes, sizeof(A), name);
        }
        A& a = *reinterpret_cast<A*>(bytes);
        if constexpr (std::is_array_v<A>)
            return CheckedArray<A>(a, name);
        else
            return (a);  // a struct or scalar: poisoned and counted, its members unchecked
    }
};

}  // namespace dk::emu::rt
