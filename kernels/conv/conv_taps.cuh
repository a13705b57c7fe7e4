// conv_taps.cuh - the forward implicit GEMM's im2col gather, as the tensor-core kernels
// (conv2d_mma.cu, conv2d_sm90.cu) decode it: NHWC x, the reduction in (r, s, c) order, every 16
// bytes one tap's consecutive channels.
#pragma once

#include <cstdint>

#include "conv/conv.cuh"
#include "deepkern/portable.cuh"

namespace dk {

// The forward's A gather (x's im2col rows, [pixel][red]) for one of Threads threads filling a tile
// of Pixels rows by K reductions, decoded once and advanced by K per reduction step, so the main
// loop divides nothing: the thread always copies chunk ch = tid % (K / kChunk) (reduction indices
// rr .. rr + kChunk - 1, one (r, s) tap and kChunk channels cg..) of tile rows tid / (K / kChunk) +
// kRowStep k, k < kRows, whose output pixels (n, p, q) are fixed for the block.
template <typename T, int K, int Threads, int Pixels>
struct ForwardTaps {
    static constexpr int kK = K, kChunk = 16 / int(sizeof(T));
    static constexpr int kRowStep = Threads / (kK / kChunk), kRows = Pixels / kRowStep;
    static_assert(kK % kChunk == 0 && Threads % (kK / kChunk) == 0 && Pixels % kRowStep == 0,
                  "whole rows of chunks per pass of the threads");
    int64_t rr, cg, r, s;                        // the chunk's first reduction index and its decode
    int64_t top[kRows], left[kRows], image[kRows];  // tap (0, 0)'s input row and column; n H W C
    static constexpr int64_t kNoRow = INT64_MIN / 2;  // top of a row past the pixels: every tap is outside

    __device__ __forceinline__ ForwardTaps(const ConvGeom& g, int64_t m0, int64_t m_total) {
        rr = kChunk * (threadIdx.x % (kK / kChunk));
        conv_red_decode_rsc(g, rr, cg, r, s);
        for (int k = 0; k < kRows; ++k) {
            const int64_t m = m0 + int(threadIdx.x) / (kK / kChunk) + k * kRowStep;
            const int64_t q = m % g.q, t = m / g.q, p = t % g.p, n = t / g.p;
            top[k] = m < m_total ? p * g.stride_h - g.pad_h : kNoRow;
            left[k] = q * g.stride_w - g.pad_w;
            image[k] = n * g.h * g.w * g.c;
        }
    }

    // Row k's kChunk elements at the current chunk, or null in the padding / past the reduction.
    __device__ __forceinline__ const T* source(const ConvGeom& g, const T* x, int64_t c0, int64_t red, int k) const {
        const int64_t h = top[k] + r * g.dil_h, w = left[k] + s * g.dil_w;
        if (rr >= red || h < 0 || h >= g.h || w < 0 || w >= g.w) return nullptr;
        return x + image[k] + (h * g.w + w) * g.c + c0 + cg;
    }

    __device__ __forceinline__ void advance(const ConvGeom& g, int64_t cgs) {
        rr += kK;
        for (cg += kK; cg >= cgs; cg -= cgs)
            if (++s == g.s) s = 0, ++r;
    }
};

}  // namespace dk
