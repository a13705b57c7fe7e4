// tma_map.h - what a TMA tensor map holds (deepkern/tma.cuh): the tiled copy's parameters, the
// driver's rules for them, and the 128-byte map itself. Plain C++: the kernels, the host and the
// emulator (native/emu/tma.cpp, which decodes the map) share it.
#pragma once

#include <cstdint>
#include <string>

namespace dk {

enum class TmaSwizzle : uint32_t { none = 0, b32 = 1, b64 = 2, b128 = 3 };  // CUtensorMapSwizzle's values

struct TmaTiled {
    int rank;             // 1 .. 5
    int element_bytes;    // 1, 2, 4 or 8
    const void* global;   // 16-byte aligned
    uint64_t dims[5];     // elements per dimension, innermost first, each in [1, 2^32]
    uint64_t strides[4];  // bytes between consecutive indices of dims 1 .. rank - 1: multiples of 16
    uint32_t box[5];      // elements per copy in each dimension, 1 .. 256; box[0] bytes a multiple of 16
    TmaSwizzle swizzle;   // box[0] bytes at most its span when swizzled
};

struct alignas(128) TensorMap {  // as CUtensorMap
    uint64_t opaque[16];
};

// The driver's rules a map must meet, or "" when it does.
inline std::string tma_problem(const TmaTiled& t) {
    if (t.rank < 1 || t.rank > 5) return "rank " + std::to_string(t.rank) + " outside 1..5";
    if (t.element_bytes != 1 && t.element_bytes != 2 && t.element_bytes != 4 && t.element_bytes != 8)
        return "element size " + std::to_string(t.element_bytes) + " bytes: 1, 2, 4 or 8";
    if (reinterpret_cast<uintptr_t>(t.global) % 16 != 0) return "the global address is not 16-byte aligned";
    for (int d = 0; d < t.rank; ++d) {
        if (t.dims[d] < 1 || t.dims[d] > (uint64_t(1) << 32)) return "dims[" + std::to_string(d) + "] outside [1, 2^32]";
        if (t.box[d] < 1 || t.box[d] > 256) return "box[" + std::to_string(d) + "] outside [1, 256]";
        if (d > 0 && (t.strides[d - 1] % 16 != 0 || t.strides[d - 1] >= (uint64_t(1) << 40)))
            return "strides[" + std::to_string(d - 1) + "] is not a multiple of 16 below 2^40";
    }
    const uint32_t inner = t.box[0] * uint32_t(t.element_bytes);
    if (inner % 16 != 0) return "the box's inner extent, " + std::to_string(inner) + " bytes, is not a multiple of 16";
    const uint32_t span = t.swizzle == TmaSwizzle::none ? 0 : 16u << uint32_t(t.swizzle);
    if (span && inner > span)
        return "the box's inner extent, " + std::to_string(inner) + " bytes, exceeds the swizzle's " + std::to_string(span);
    return "";
}

}  // namespace dk
