// philox.cuh - Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
//
// Counter-based: the bits for counter c under key k are a pure function of (c, k), so every
// backend draws the same stream and a kernel thread can jump straight to its own counter
// without state. The stream of a context is (seed = key, offset = first 64-bit counter);
// counter words 2-3 are zero.
#pragma once

#include <cstdint>
#include "deepkern/numeric.cuh"

namespace dk {

struct Philox4 {
    uint32_t v[4];
};

DK_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
    uint64_t p = uint64_t(a) * uint64_t(b);
    *hi = uint32_t(p >> 32);
    return uint32_t(p);
}

DK_HD Philox4 philox4x32_10(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
    uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32);
    uint32_t c2 = uint32_t(counter_hi), c3 = uint32_t(counter_hi >> 32);
    uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
    DK_UNROLL  // straight-line rounds: the cpu's randn loop vectorizes over blocks
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
        uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return Philox4{{c0, c1, c2, c3}};
}

// A uniform in (0, 1): the top 24 bits, centred in their interval, so log() never sees 0.
DK_HD float uniform_open01(uint32_t bits) {
    return float(bits >> 8) * 5.9604644775390625e-8f + 2.98023223876953125e-8f;
}

// Box-Muller on two words: two independent N(0, 1) draws.
DK_HD void box_muller(uint32_t a, uint32_t b, float* z0, float* z1) {
    const float r = sqrtf(-2.0f * logf(uniform_open01(a)));
    const float theta = 6.2831853071795865f * uniform_open01(b);
    *z0 = r * cosf(theta);
    *z1 = r * sinf(theta);
}

// Normal number i of the stream (seed, offset): counter offset + i/4, lane i%4.
DK_HD float philox_normal(uint64_t seed, uint64_t offset, uint64_t i) {
    Philox4 r = philox4x32_10(offset + i / 4, 0, seed);
    float z0, z1;
    const int lane = int(i & 3);
    box_muller(r.v[lane & 2], r.v[(lane & 2) + 1], &z0, &z1);
    return (lane & 1) ? z1 : z0;
}

}  // namespace dk
