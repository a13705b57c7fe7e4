// roofline.cuh - the arithmetic of dk_roofline_fma, shared by the cuda kernel and the cpu
// backend: 8 independent chains of multiply-adds, so the FMA units, not their latency, limit it.
// V is float on the device and a GCC vector of floats on the cpu (one chain per register).
#pragma once

#include "deepkern/numeric.cuh"

namespace dk {

constexpr int kRooflineChains = 8;

// Always inlined on the host: the cpu backend calls it from one entry per ISA (cpu/roofline.cpp),
// whose vector width must reach the chains.
#if defined(__CUDACC__) && !defined(DK_EMU)
#define DK_ROOFLINE_INLINE DK_HD
#else
#define DK_ROOFLINE_INLINE inline __attribute__((always_inline))
#endif

template <typename V>
DK_ROOFLINE_INLINE V roofline_chains(V x, int iterations) {
    V acc[kRooflineChains];
    for (int c = 0; c < kRooflineChains; ++c) acc[c] = x + float(c);
    for (int i = 0; i < iterations; ++i) {
        for (int c = 0; c < kRooflineChains; ++c) acc[c] = acc[c] * 0.9999f + 0.0001f;  // contracts to FMA
    }
    V sum = acc[0];
    for (int c = 1; c < kRooflineChains; ++c) sum = sum + acc[c];
    return sum;
}

}  // namespace dk
