// rope_bodies.cuh - the rotary embedding of one pair of elements, shared by kernels/rope/rope.cu (cuda,
// emu) and the cpu backend, so the angle and the turn are computed by one formula everywhere.
// The angle follows the reference implementations (GPT-NeoX, Llama): inv_freq = 1 / base^(2i/D)
// and theta = p * inv_freq, both in f32.
#pragma once

#include <cmath>

#include "deepkern/numeric.cuh"
#include "rope/rope.h"

namespace dk {

template <typename T>
struct RopePair {
    const T* x;
    T* out;
    int64_t seq, half, dim, offset;
    float base, sign;
    bool interleaved;

    static RopePair of(const RopeArgs& a) {
        return {static_cast<const T*>(a.x), static_cast<T*>(a.out), a.seq, a.dim / 2, a.dim, a.offset,
                a.base, a.sign, a.interleaved};
    }

    // The turn of pair i at position pos of the sequence (the offset is added here): cos and
    // sign * sin of its angle.
    DK_HD void angle(int64_t i, int64_t pos, float& c, float& s) const {
        const float inv_freq = 1.0f / powf(base, float(2 * i) / float(dim));
        const float theta = float(pos + offset) * inv_freq;
        c = cosf(theta);
        s = sign * sinf(theta);
    }

    // Where pair i of row `row` lives: elements ia and ib.
    DK_HD int64_t first(int64_t row, int64_t i) const { return row * dim + (interleaved ? 2 * i : i); }
    DK_HD int64_t second(int64_t ia) const { return ia + (interleaved ? 1 : half); }

    DK_HD void load(int64_t row, int64_t i, float& a, float& b) const {
        const int64_t ia = first(row, i);
        a = load_float(x[ia]);
        b = load_float(x[second(ia)]);
    }

    // Writes pair i of row `row`, read as (a, b), turned by (c, s).
    DK_HD void store(int64_t row, int64_t i, float a, float b, float c, float s) const {
        const int64_t ia = first(row, i);
        store_float(out[ia], a * c - b * s);
        store_float(out[second(ia)], a * s + b * c);
    }

    // Turns pair i of row `row` by (c, s). Reads both elements before writing: in place is safe.
    DK_HD void turn(int64_t row, int64_t i, float c, float s) const {
        float a, b;
        load(row, i, a, b);
        store(row, i, a, b, c, s);
    }

    // Pair p of the [bh * seq, dim / 2] pair space.
    DK_HD void apply(int64_t p) const {
        const int64_t i = p % half, row = p / half;
        float c, s;
        angle(i, row % seq, c, s);
        turn(row, i, c, s);
    }
};

}  // namespace dk
