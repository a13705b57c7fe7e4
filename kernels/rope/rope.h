// rope.h - the rotary embedding's backend contract.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// Rotary embedding of x [bh, seq, dim] (bh = B*H): sign = +1 forward, -1 backward (turn by -theta).
struct RopeArgs {
    const void* x;
    void* out;
    int64_t bh, seq, dim, offset;
    float base, sign;
    bool interleaved;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void rope(const Exec&, DType, const RopeArgs&);
)
