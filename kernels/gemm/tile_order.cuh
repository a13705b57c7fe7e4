// tile_order.cuh - the order in which a GEMM's blocks take its output tiles, shared by the
// tensor-core kernels (gemm.cu's one tile per block, gemm_sm90.cu's persistent blocks).
#pragma once

#include "deepkern/portable.cuh"

namespace dk {

// The output tile (tm, tn) of linear index `pid` over all tiles: groups of kGroupM row tiles, and
// within a group all of its tiles of one column before the next column, so the blocks running at
// once read a few B column tiles and a group's A row tiles, which stay in L2 (the grouped order of
// Triton's matmul tutorial; row-major order would stream all of A once per column of tiles).
constexpr unsigned kGroupM = 8;

__device__ __forceinline__ void tile_of(unsigned pid, unsigned tiles_m, unsigned tiles_n, unsigned& tm, unsigned& tn) {
    const unsigned per_group = kGroupM * tiles_n, group = pid / per_group, first = group * kGroupM;
    const unsigned rows = tiles_m - first < kGroupM ? tiles_m - first : kGroupM, in = pid - group * per_group;
    tm = first + in % rows;
    tn = in / rows;
}

}  // namespace dk
