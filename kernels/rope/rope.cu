// rope.cu - rotary position embedding on [B, H, L, D], forward and backward (the turn by -theta).
// A thread takes one (position, pair) of the [L, D / 2] angle space in a grid-stride loop, computes
// its angle once (rope/rope_bodies.cuh: a power, a cosine and a sine) and turns that pair in each
// of its share of the B * H rows: the transcendental work is 1 / (B * H) per element and no table
// is read, so traffic is the 2n elements in and out. blockIdx.y splits the rows when L * D / 2
// alone cannot fill the GPU (decoding, L = 1).
#include <algorithm>

#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "rope/rope_bodies.cuh"
#include "rope/rope.h"

namespace dk {
namespace DK_BACKEND {

template <typename T>
__global__ void rope_kernel(RopePair<T> body, int64_t bh) {
    const int64_t angles = body.seq * body.half, stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < angles; q += stride) {
        const int64_t pos = q / body.half, i = q - pos * body.half;
        float c, s;
        body.angle(i, pos, c, s);
        // the angle's rows, kRows at a time with all their loads issued first (one pair's 4 bytes
        // in flight per thread cannot cover DRAM latency at 16-bit)
        constexpr int kRows = 4;
        int64_t b = blockIdx.y;
        for (; b + (kRows - 1) * int64_t(gridDim.y) < bh; b += kRows * int64_t(gridDim.y)) {
            float xa[kRows], xb[kRows];
            DK_UNROLL
            for (int u = 0; u < kRows; ++u) body.load((b + u * gridDim.y) * body.seq + pos, i, xa[u], xb[u]);
            DK_UNROLL
            for (int u = 0; u < kRows; ++u) body.store((b + u * gridDim.y) * body.seq + pos, i, xa[u], xb[u], c, s);
        }
        for (; b < bh; b += gridDim.y) body.turn(b * body.seq + pos, i, c, s);
    }
}

void rope(const Exec& ex, DType dtype, const RopeArgs& a) {
    const int64_t angles = a.seq * (a.dim / 2);
    if (angles == 0 || a.bh == 0) return;
    constexpr int kThreads = 256;
    // the blocks grid_for would give all the pairs, over the angles' blocks in x; rows split in y
    const unsigned gx = grid_for(ex, angles, kThreads);
    const int64_t want_y = grid_for(ex, angles * a.bh, kThreads) / gx;
    const unsigned gy = unsigned(std::max<int64_t>(1, std::min<int64_t>({a.bh, want_y, 65535})));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "rope", rope_kernel<T>, dim3(gx, gy), dim3(kThreads), 0, RopePair<T>::of(a), a.bh);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
