// pyramid.cu - the pooling pyramids of pool.h (SPP, SPPF), each in one launch that reads x once.
//
// SPP: a block per image plane stages it in shared memory as f32 (planes up to 48 KB; larger ones
// are read in place through the cache), then its threads take the bins of every level. Traffic:
// x once, the sum(levels^2) bins per plane out.
//
// SPPF: a block per 32 x 32 output tile of a plane stages x with a halo of 3r (r = kernel / 2,
// -inf outside the image: max pooling's padding) and computes the three chained stride-1 max pools
// in shared memory, each over a ring of r less: m1 on the tile + 2r, m2 on the tile + r, m3 on the
// tile, writing all four stages of the tile's pixels. Each pool is separable (row maxima, then
// column maxima of those: 2 (2r + 1) comparisons per element, not (2r + 1)^2). Traffic: x read (1 + 6r / 32)^2 times (1.9x at
// k = 5, the halos; once for a plane that fits one tile), 4x written - where three pooling launches
// and a concat would read 4x and write 5x. NHWC writes stride 4C between neighbouring pixels; the
// NCHW path is the coalesced one.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "pool/pyramid_bodies.cuh"
#include "pool/pool.h"

namespace dk {
namespace DK_BACKEND {

constexpr int kPyramidThreads = 256;
constexpr int64_t kSppStagedFloats = 48 * 1024 / 4;  // planes staged in shared memory, no opt-in
constexpr int kSppfTile = 32;

template <typename T, bool Staged>
__global__ void spp_kernel(Pyramid<T> p, int64_t planes) {
    DK_DYNAMIC_SHARED(float, plane);
    for (int64_t nc = blockIdx.x; nc < planes; nc += gridDim.x) {
        if (Staged) {
            for (int64_t i = threadIdx.x; i < p.h * p.w; i += blockDim.x) plane[i] = p.load(nc, i / p.w, i % p.w);
            __syncthreads();
        }
        for (int64_t b = threadIdx.x; b < p.bins; b += blockDim.x) p.spp_bin(nc, b, Staged ? &plane[0] : nullptr);
        if (Staged) __syncthreads();  // the next plane overwrites the stage
    }
}

// The buffers' pitches: stage s (0 = x) covers the tile plus a ring of (3 - s) r.
__host__ __device__ constexpr int sppf_pitch(int s, int r) { return kSppfTile + 2 * (3 - s) * r; }

template <typename T>
__global__ void sppf_kernel(Pyramid<T> p, int64_t planes, int64_t tiles_y, int64_t tiles_x) {
    DK_DYNAMIC_SHARED(float, smem);
    const int r = p.kernel / 2;
    float* const a = smem;                                      // x, then m2
    float* const b = a + sppf_pitch(0, r) * sppf_pitch(0, r);   // m1
    float* const rows = b + sppf_pitch(1, r) * sppf_pitch(1, r);  // a stage's row maxima
    for (int64_t t = blockIdx.x; t < planes * tiles_y * tiles_x; t += gridDim.x) {
        const int64_t nc = t / (tiles_y * tiles_x);
        const int64_t oy = t / tiles_x % tiles_y * kSppfTile, ox = t % tiles_x * kSppfTile;  // the tile's corner
        // Stage s into dst (null: straight out) from src, the previous stage (pitch sppf_pitch(s - 1)),
        // as a separable max: the row maxima of src's rows first, then the column maxima of those.
        // -inf outside the image; the tile's own pixels go out.
        auto stage = [&](int s, const float* src, float* dst) {
            const int pitch = sppf_pitch(s, r), halo = (3 - s) * r;
            if (s > 0) {
                const int from = sppf_pitch(s - 1, r);
                for (int i = threadIdx.x; i < from * pitch; i += blockDim.x)
                    rows[i] = line_max(src, i / pitch * from + i % pitch, 1, r);
                __syncthreads();
            }
            for (int i = threadIdx.x; i < pitch * pitch; i += blockDim.x) {
                const int u = i / pitch, v = i % pitch;
                const int64_t y = oy - halo + u, x = ox - halo + v;
                const bool inside = y >= 0 && y < p.h && x >= 0 && x < p.w;
                float value = -INFINITY;
                if (inside) value = s == 0 ? p.load(nc, y, x) : line_max(rows, u * pitch + v, pitch, r);
                if (dst) dst[i] = value;
                if (inside && y >= oy && y < oy + kSppfTile && x >= ox && x < ox + kSppfTile) p.store_stage(nc, s, y, x, value);
            }
            __syncthreads();
        };
        stage(0, nullptr, a);
        stage(1, a, b);
        stage(2, b, a);
        stage(3, a, nullptr);
    }
}

void spp_forward(const Exec& ex, DType dtype, const PyramidArgs& a) {
    const int64_t planes = a.n * a.c;
    if (planes == 0) return;
    const bool staged = a.h * a.w <= kSppStagedFloats;
    const dim3 grid(grid_for(ex, planes * kPyramidThreads, kPyramidThreads));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (staged)
            launch(ex, "spp", spp_kernel<T, true>, grid, dim3(kPyramidThreads), size_t(a.h * a.w) * sizeof(float),
                   Pyramid<T>::of(a), planes);
        else
            launch(ex, "spp", spp_kernel<T, false>, grid, dim3(kPyramidThreads), 0, Pyramid<T>::of(a), planes);
    });
}

void sppf_forward(const Exec& ex, DType dtype, const PyramidArgs& a) {
    const int64_t planes = a.n * a.c;
    if (planes == 0) return;
    const int r = a.kernel / 2;
    const int64_t tiles_y = (a.h + kSppfTile - 1) / kSppfTile, tiles_x = (a.w + kSppfTile - 1) / kSppfTile;
    const size_t shared = size_t(sppf_pitch(0, r) * sppf_pitch(0, r) + sppf_pitch(1, r) * sppf_pitch(1, r) +
                                 sppf_pitch(0, r) * sppf_pitch(1, r)) * sizeof(float);
    const dim3 grid(grid_for(ex, planes * tiles_y * tiles_x * kPyramidThreads, kPyramidThreads));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "sppf", sppf_kernel<T>, grid, dim3(kPyramidThreads), shared, Pyramid<T>::of(a), planes, tiles_y, tiles_x);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
