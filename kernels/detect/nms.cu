// nms.cu - non-maximum suppression (torchvision.ops.nms / batched_nms) entirely on the device, in
// three steps; nothing but the kept count (read by the C API) leaves the GPU.
//
// 1. Order. Each box becomes one unique 64-bit key (detect_bodies.cuh nms_key: decreasing score,
//    NaN first, ties by lower index; the index in the low bits), sorted ascending by a bitonic
//    sort of P = next power of two >= n keys (padded with ~0): tiles of 2048 keys sort in shared
//    memory, larger merges take one launch per global step (j >= 2048) and finish each k back in
//    shared memory. Keys are unique, so any correct sort gives the one order. Traffic: about
//    2 log2(P / 2048) + 2 passes over 8 P bytes per doubling beyond a tile.
// 2. Mask (torchvision's nms_kernel). Sorted boxes in words of 64; block (c, r) with c >= r takes
//    row word r and column word c: each thread (a row box) sets bit j of mask[row][c] when the box
//    in column j (a later one) is of the same class and its IoU with the row box is strictly above
//    the threshold. Blocks below the diagonal return at once; their words are never read.
//    Traffic: the mask, n * ceil(n / 64) words (n^2 / 8 bytes), written once; boxes read once per
//    block through a 64-box shared tile.
// 3. Walk (one block). Sorted box i is kept unless a kept earlier box suppressed it: the suppressed
//    bits of the later words live in shared memory (ceil(n / 64) words), the current word in a
//    register of every thread. A kept box ORs its mask row into the later words (the block's
//    threads split the row) and the block synchronizes; a suppressed one costs a bit test. So the
//    block reads one mask row per kept box and n keys; it writes the kept indices and the count.
//    A word is read from shared memory only after every box of earlier words is decided, and a
//    word is written only by boxes of earlier words: no thread reads what another may be writing.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "detect/detect_bodies.cuh"
#include "detect/detect_device.cuh"
#include "detect/detect.h"

namespace dk {
namespace DK_BACKEND {

constexpr int64_t kSortTile = 2048;  // keys per shared-memory tile: 16 KiB
constexpr int kSortThreads = 512;
constexpr int kWalkThreads = 256;

static int64_t sort_length(int64_t n) {
    int64_t p = 2;
    while (p < n) p <<= 1;
    return p;
}

template <typename T>
__global__ void nms_keys_kernel(const T* scores, int64_t n, int64_t p, uint64_t* keys) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p; i += stride)
        keys[i] = i < n ? nms_key(load_float(scores[i]), i) : ~uint64_t(0);
}

// Steps k = k_first .. k_last (powers of two), each with j from min(k, tile) / 2 down to 1, on one
// tile of keys in shared memory per block.
__global__ void bitonic_tile_kernel(uint64_t* keys, int64_t k_first, int64_t k_last, int tile) {
    DK_DYNAMIC_SHARED(uint64_t, s);
    const int64_t base = int64_t(blockIdx.x) * tile;
    for (int t = threadIdx.x; t < tile; t += blockDim.x) s[t] = keys[base + t];
    __syncthreads();
    for (int64_t k = k_first; k <= k_last; k <<= 1) {
        for (int64_t j = (k < tile ? k : tile) / 2; j > 0; j >>= 1) {
            for (int64_t q = threadIdx.x; q < tile / 2; q += blockDim.x) {
                const int64_t lo = bitonic_lower(q, j);
                bitonic_pair(s[lo], s[lo + j], ((base + lo) & k) == 0);
            }
            __syncthreads();
        }
    }
    for (int t = threadIdx.x; t < tile; t += blockDim.x) keys[base + t] = s[t];
}

// One step (k, j) with j >= the tile over all p keys, a pair per thread.
__global__ void bitonic_step_kernel(uint64_t* keys, int64_t pairs, int64_t k, int64_t j) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < pairs; q += stride) {
        const int64_t lo = bitonic_lower(q, j);
        bitonic_pair(keys[lo], keys[lo + j], (lo & k) == 0);
    }
}

static void bitonic_sort(const Exec& ex, uint64_t* keys, int64_t p) {
    const int tile = int(p < kSortTile ? p : kSortTile);
    const int threads = tile / 2 < kSortThreads ? tile / 2 : kSortThreads;
    const size_t shared = size_t(tile) * sizeof(uint64_t);
    const dim3 tiles(unsigned(p / tile));
    launch(ex, "nms_sort_tile", bitonic_tile_kernel, tiles, dim3(threads), shared, keys, int64_t(2), int64_t(tile), tile);
    for (int64_t k = 2 * int64_t(tile); k <= p; k <<= 1) {
        for (int64_t j = k / 2; j >= tile; j >>= 1)
            launch(ex, "nms_sort_step", bitonic_step_kernel, dim3(grid_for(ex, p / 2, kSortThreads)), dim3(kSortThreads), 0,
                   keys, p / 2, k, j);
        launch(ex, "nms_sort_tile", bitonic_tile_kernel, tiles, dim3(threads), shared, keys, k, k, tile);
    }
}

template <typename T>
__global__ void nms_mask_kernel(NmsArgs a, const uint64_t* keys, uint64_t* mask, int64_t words) {
    const int64_t row_word = blockIdx.y, col_word = blockIdx.x;
    if (col_word < row_word) return;
    DK_SHARED(float, cols, [kNmsWordBits][4]);
    DK_SHARED(int64_t, col_class, [kNmsWordBits]);
    const T* boxes = static_cast<const T*>(a.boxes);
    const int64_t col0 = col_word * kNmsWordBits, row0 = row_word * kNmsWordBits;
    const int col_count = int(a.n - col0 < kNmsWordBits ? a.n - col0 : kNmsWordBits);
    const int row_count = int(a.n - row0 < kNmsWordBits ? a.n - row0 : kNmsWordBits);
    const int t = threadIdx.x;
    if (t < col_count) {
        const int64_t box = rank_key_index(keys[col0 + t]);
        const Box b = load_box(boxes, box);
        for (int q = 0; q < 4; ++q) cols[t][q] = b.v[q];
        col_class[t] = nms_class(a, box);
    }
    __syncthreads();
    if (t >= row_count) return;
    const int64_t box = rank_key_index(keys[row0 + t]);
    const Box mine = load_box(boxes, box);
    const int64_t cls = nms_class(a, box);
    uint64_t bits = 0;
    for (int j = row_word == col_word ? t + 1 : 0; j < col_count; ++j) {
        const Box other{{cols[j][0], cols[j][1], cols[j][2], cols[j][3]}};
        if (col_class[j] == cls && nms_suppresses(mine, other, a.threshold)) bits |= uint64_t(1) << j;
    }
    mask[(row0 + t) * words + col_word] = bits;
}

__global__ void nms_walk_kernel(NmsArgs a, const uint64_t* keys, const uint64_t* mask, int64_t words) {
    DK_DYNAMIC_SHARED(uint64_t, removed);
    for (int64_t w = threadIdx.x; w < words; w += blockDim.x) removed[w] = 0;
    __syncthreads();
    int64_t kept = 0;
    uint64_t current = 0;
    for (int64_t i = 0; i < a.n; ++i) {
        const int64_t w = i / kNmsWordBits;
        const int bit = int(i % kNmsWordBits);
        if (bit == 0) current = removed[w];
        if (current >> bit & 1) continue;
        if (threadIdx.x == 0) a.keep[kept] = rank_key_index(keys[i]);
        ++kept;
        const uint64_t* row = mask + i * words;
        current |= row[w];
        for (int64_t v = w + 1 + threadIdx.x; v < words; v += blockDim.x) removed[v] |= row[v];
        __syncthreads();
    }
    if (threadIdx.x == 0) *a.count = kept;
}

void nms_workspace(const Exec&, DType, const NmsArgs& a, int64_t* bytes) {
    const int64_t words = (a.n + kNmsWordBits - 1) / kNmsWordBits;
    *bytes = int64_t(sizeof(uint64_t)) * (sort_length(a.n) + a.n * words);
}

void nms(const Exec& ex, DType dtype, const NmsArgs& a) {
    const int64_t words = (a.n + kNmsWordBits - 1) / kNmsWordBits, p = sort_length(a.n);
    uint64_t* keys = static_cast<uint64_t*>(a.workspace);
    uint64_t* mask = keys + p;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "nms_keys", nms_keys_kernel<T>, dim3(grid_for(ex, p, 256)), dim3(256), 0,
               static_cast<const T*>(a.scores), a.n, p, keys);
        bitonic_sort(ex, keys, p);
        launch(ex, "nms_mask", nms_mask_kernel<T>, dim3(unsigned(words), unsigned(words)), dim3(kNmsWordBits), 0, a,
               static_cast<const uint64_t*>(keys), mask, words);
    });
    launch(ex, "nms_walk", nms_walk_kernel, dim3(1), dim3(kWalkThreads), size_t(words) * sizeof(uint64_t), a,
           static_cast<const uint64_t*>(keys), static_cast<const uint64_t*>(mask), words);
}

}  // namespace DK_BACKEND
}  // namespace dk
