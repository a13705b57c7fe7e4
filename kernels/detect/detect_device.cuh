// detect_device.cuh - device code shared by the detection family's kernel files (nms.cu, decode.cu,
// postprocess.cu): the bitonic compare-exchange of the NMS sort and of the block-wide sorts, and the
// block-wide top-k select of the CenterNet decoder and the fused postprocess. Include after
// portable.cuh.
#pragma once

#include <cstdint>

#include "detect/detect_bodies.cuh"

namespace dk {
namespace DK_BACKEND {

// The compare-exchange of bitonic step (k, j) on the pair whose lower index is lo (bit j clear):
// ascending where bit k of lo is clear.
DK_HD void bitonic_pair(uint64_t& x, uint64_t& y, bool ascending) {
    if ((x > y) == ascending) {
        const uint64_t t = x;
        x = y;
        y = t;
    }
}
DK_HD int64_t bitonic_lower(int64_t pair, int64_t j) { return 2 * pair - (pair & (j - 1)); }

// Sorts p keys (a power of two) of shared memory ascending; every thread of the block calls it.
__device__ inline void block_bitonic_sort(uint64_t* keys, int32_t p) {
    for (int32_t k = 2; k <= p; k <<= 1)
        for (int32_t j = k / 2; j > 0; j >>= 1) {
            for (int32_t q = threadIdx.x; q < p / 2; q += blockDim.x) {
                const int64_t lo = bitonic_lower(q, j);
                bitonic_pair(keys[lo], keys[lo + j], (lo & k) == 0);
            }
            __syncthreads();
        }
}

constexpr int kRadixBits = 8;
constexpr int kRadixBins = 1 << kRadixBits;

// The k largest of m 32-bit values (key_of(i) gives value i, m < 2^32), as rank_keys (decreasing
// value, ties by lower index) in top[0 .. selected), in no particular order; selected = k, or where
// zero_absent min(k, the number of nonzero values), a zero value never taken. Every thread of the
// block calls it (it synchronizes); blockDim.x a multiple of 32.
//
// A radix select (8 bits at a time from the top, a shared-memory histogram per pass) finds the
// selected-th largest value v and how many values equal to v make the top; a collecting pass takes
// the values above v and the first such equal ones in index order (a block-wide rank by ballots).
// Where zero_absent and no more than k values are nonzero, the select is skipped: v = 0, none equal.
// Reads the m values 2 (+1 where zero_absent) to 6 times.
template <class KeyOf>
__device__ int32_t block_top_k(const KeyOf& key_of, int64_t m, int32_t k, bool zero_absent, uint64_t* top) {
    DK_SHARED(uint32_t, hist, [kRadixBins]);
    DK_SHARED(uint32_t, warp_equal, [32]);
    DK_SHARED(uint32_t, choice, [2]);
    DK_SHARED(uint32_t, counter, [1]);
    const int t = threadIdx.x, lane = t % 32, warp = t / 32, warps = blockDim.x / 32;

    uint32_t want = uint32_t(k);
    bool select = true;
    if (zero_absent) {
        if (t == 0) counter[0] = 0;
        __syncthreads();
        uint32_t nonzero = 0;
        for (int64_t i = t; i < m; i += blockDim.x) nonzero += key_of(i) != 0u;
        if (nonzero) atomicAdd(&counter[0], nonzero);
        __syncthreads();
        if (counter[0] <= want) {
            want = counter[0];
            select = false;
        }
        __syncthreads();  // counter is reused below
    }
    const int32_t selected = int32_t(want);
    if (!select) want = 0;  // every nonzero value is taken: v = 0, none of the equal (zero) ones

    // Radix select: v's digits from the top; want = the rank of the selected-th value among those
    // sharing v's digits so far. Only thread 0 reads the histogram, before the barrier after which
    // it is reset.
    uint32_t prefix = 0, mask = 0;
    for (int shift = 32 - kRadixBits; select && shift >= 0; shift -= kRadixBits) {
        for (int b = t; b < kRadixBins; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        for (int64_t i = t; i < m; i += blockDim.x) {
            const uint32_t key = key_of(i);
            if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & (kRadixBins - 1)], 1u);
        }
        __syncthreads();
        if (t == 0) {
            uint32_t above = 0;
            int d = kRadixBins - 1;
            while (above + hist[d] < want) above += hist[d--];
            choice[0] = uint32_t(d);
            choice[1] = want - above;
        }
        __syncthreads();
        prefix |= choice[0] << shift;
        mask |= uint32_t(kRadixBins - 1) << shift;
        want = choice[1];
    }
    const uint32_t threshold = prefix, above_count = uint32_t(selected) - want;

    // Collect: values above v anywhere in [0, above_count), the first `want` values equal to v, by
    // index, after them. Every thread keeps the running count of equal values.
    if (t == 0) counter[0] = 0;
    uint32_t equal_before = 0;
    for (int64_t base = 0; base < m; base += blockDim.x) {
        const int64_t i = base + t;
        const uint32_t key = i < m ? key_of(i) : 0u;
        const bool equal = i < m && want > 0 && key == threshold;
        const uint32_t ballot = __ballot_sync(0xffffffffu, equal);
        if (lane == 0) warp_equal[warp] = uint32_t(__popc(ballot));
        __syncthreads();
        uint32_t rank = equal_before + uint32_t(__popc(ballot & ((1u << lane) - 1u)));
        for (int w = 0; w < warps; ++w) {
            if (w < warp) rank += warp_equal[w];
            equal_before += warp_equal[w];
        }
        if (i < m && key > threshold) top[atomicAdd(&counter[0], 1u)] = rank_key(key, i);
        if (equal && rank < want) top[above_count + rank] = rank_key(key, i);
        __syncthreads();
    }
    return selected;
}

}  // namespace DK_BACKEND
}  // namespace dk
