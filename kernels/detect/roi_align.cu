// roi_align.cu - RoIAlign (torchvision.ops.roi_align), forward and backward; the math, shared with
// the cpu backend, is in detect/roi_align_bodies.cuh.
//
// The math: roi k's bin (ph, pw) on channel c is the average over its grid_h x grid_w samples of the
// bilinear interpolation of image b(k), channel c, at the sample; a sample outside [-1, H] x [-1, W]
// is 0 and the average still counts it. The backward gives each tap of each sample (grad * w) / count.
//
// Forward: one thread per output element (k, c, ph, pw) in a grid-stride loop (walk.cuh
// each_kernel); neighbouring threads take neighbouring bins of one roi and channel, so the roi's 5
// numbers are a broadcast load and their taps share cache lines. Traffic: the output written once;
// each sample inside the image reads 4 taps through L1 / L2 (a bin of 2 x 2 samples: 16 taps, most
// shared with the neighbouring bins), from an image that DRAM gives once where the rois cover it.
//
// Backward: a gather, so no atomics and the same bits on every run. A block of 256 threads owns a
// tile of one image plane (n, c) - 32 columns x 8 rows, narrower and taller for images narrower
// than 32 - a thread per element. It walks the rois in chunks of 256: each thread computes one
// roi's geometry and whether it may reach the tile (its image, the span of its samples), a ballot
// and the per-warp counts compact the rois that do into shared memory in roi order, and every
// thread then adds what each listed roi gives its element (only the samples within a pixel of it,
// found by binary search), in the order (roi, ph, pw, iy, ix, tap) that the cpu's scatter adds them
// in. Each element is written once, in the image's dtype: no zero fill, no workspace, no convert
// pass. Traffic: the gradient written once; grad_out read through L1 / L2 by the tiles its rois
// reach; the boxes read once per tile (20 bytes a roi, from L2). Cost: every tile walks all K rois
// (one check per thread per chunk), so K x planes x tiles / 256 checks - small next to the samples'
// work for detection's few hundred to few thousand rois.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/walk.cuh"
#include "detect/roi_align_bodies.cuh"
#include "detect/detect.h"

namespace dk {
namespace DK_BACKEND {

constexpr int kRoiForwardThreads = 256;
constexpr int kRoiGatherThreads = 256;
constexpr int kRoiGatherWarps = kRoiGatherThreads / 32;

// A roi the tile's threads visit: its geometry and number.
struct RoiEntry {
    Roi roi;
    int64_t k;
};

// How the backward splits the image: tiles of 2^tile_w_log2 columns x the rest of 256 threads in
// rows, items = planes x tiles_y x tiles_x of them.
struct RoiTiles {
    int64_t tiles_x, tiles_y, items;
    int32_t tile_w_log2;
};

template <typename T>
__global__ void roi_align_backward_kernel(RoiAlignBackward<T> body, RoiTiles tiles) {
    DK_SHARED(RoiEntry, list, [kRoiGatherThreads]);
    DK_SHARED(uint32_t, warp_count, [kRoiGatherWarps]);
    const RoiAlignArgs& a = body.a;
    const int t = threadIdx.x, lane = t % 32, warp = t / 32;
    const int tile_w = 1 << tiles.tile_w_log2, tile_h = kRoiGatherThreads >> tiles.tile_w_log2;
    for (int64_t item = blockIdx.x; item < tiles.items; item += gridDim.x) {
        const int64_t tx = item % tiles.tiles_x, rest = item / tiles.tiles_x;
        const int64_t ty = rest % tiles.tiles_y, plane = rest / tiles.tiles_y;
        const int64_t n = plane / a.c, c = plane % a.c;
        const int64_t y0 = ty * tile_h, x0 = tx * tile_w;
        const int64_t y1 = (y0 + tile_h < a.height ? y0 + tile_h : a.height) - 1;
        const int64_t x1 = (x0 + tile_w < a.width ? x0 + tile_w : a.width) - 1;
        const int64_t y = y0 + (t >> tiles.tile_w_log2), x = x0 + (t & (tile_w - 1));
        const bool inside = y < a.height && x < a.width;
        float sum = 0.0f;
        for (int64_t first = 0; first < a.k; first += kRoiGatherThreads) {
            RoiEntry mine{};
            bool keep = false;
            if (first + t < a.k) {
                mine.k = first + t;
                mine.roi = roi_of<T>(a, mine.k);
                keep = body.may_touch(mine.roi, n, y0, y1, x0, x1);
            }
            const uint32_t votes = __ballot_sync(0xffffffffu, keep);
            if (lane == 0) warp_count[warp] = uint32_t(__popc(votes));
            __syncthreads();
            uint32_t slot = uint32_t(__popc(votes & ((1u << lane) - 1u))), listed = 0;
            DK_UNROLL
            for (int w = 0; w < kRoiGatherWarps; ++w) {
                if (w < warp) slot += warp_count[w];
                listed += warp_count[w];
            }
            if (keep) list[slot] = mine;
            __syncthreads();
            if (inside)
                for (uint32_t i = 0; i < listed; ++i) {
                    const RoiEntry e = list[i];
                    body.gather(e.roi, e.k, c, int32_t(y), int32_t(x), sum);
                }
            __syncthreads();  // the list and the counts are rewritten by the next chunk
        }
        if (inside) store_float(static_cast<T*>(a.dst)[(plane * a.height + y) * a.width + x], sum);
    }
}

void roi_align_forward(const Exec& ex, DType dtype, const RoiAlignArgs& a) {
    const int64_t n = a.k * a.c * a.out_h * a.out_w;
    if (n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "roi_align_forward", each_kernel<RoiAlignForward<T>>, dim3(grid_for(ex, n, kRoiForwardThreads)),
               dim3(kRoiForwardThreads), 0, RoiAlignForward<T>{a}, n);
    });
}

void roi_align_backward(const Exec& ex, DType dtype, const RoiAlignArgs& a) {
    const int64_t planes = a.n * a.c;
    if (planes == 0) return;
    RoiTiles tiles{};
    while (tiles.tile_w_log2 < 5 && (int64_t(1) << tiles.tile_w_log2) < a.width) ++tiles.tile_w_log2;
    const int64_t tile_w = int64_t(1) << tiles.tile_w_log2, tile_h = kRoiGatherThreads / tile_w;
    tiles.tiles_x = (a.width + tile_w - 1) / tile_w;
    tiles.tiles_y = (a.height + tile_h - 1) / tile_h;
    tiles.items = planes * tiles.tiles_y * tiles.tiles_x;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "roi_align_backward", roi_align_backward_kernel<T>,
               dim3(grid_for(ex, tiles.items * kRoiGatherThreads, kRoiGatherThreads)), dim3(kRoiGatherThreads), 0,
               RoiAlignBackward<T>{a}, tiles);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
