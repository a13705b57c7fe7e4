// attention.cuh - what the attention kernels (kernels/attention/attention.cu) and the cpu backend
// (native/cpu/attention.cpp) share: which keys a query row may see, and the bias lookup.
//
// A row's allowed keys are always a prefix [0, attention_key_end) of the keys: padding cuts at the
// sequence's key length, a causal mask at the diagonal, so both backends loop over key tiles up to
// the end of the last row of a query tile and mask inside the final tiles only.
#pragma once

#include <cstdint>

#include "deepkern/numeric.cuh"
#include "attention/attention.h"

namespace dk {

// Sequence b's key length, clamped to [0, lk] (the tensor lives on the device, so it is never
// validated on the host).
DK_HD int64_t attention_key_length(const AttentionArgs& a, int64_t b) {
    if (!a.key_lengths) return a.lk;
    const int64_t n = a.key_lengths_i64 ? static_cast<const int64_t*>(a.key_lengths)[b]
                                        : int64_t(static_cast<const int32_t*>(a.key_lengths)[b]);
    return n < 0 ? 0 : (n > a.lk ? a.lk : n);
}

// One past the last key query row `row` may see, for a sequence of key_length keys.
DK_HD int64_t attention_key_end(const AttentionArgs& a, int64_t key_length, int64_t row) {
    int64_t end = key_length;
    if (a.causal == DK_CAUSAL_TOP_LEFT) end = row + 1;
    else if (a.causal == DK_CAUSAL_BOTTOM_RIGHT) end = row + 1 + key_length - a.lq;
    if (end > key_length) end = key_length;
    return end < 0 ? 0 : end;
}

// The additive bias at (b, h, i, j); 0 without one.
template <typename T>
DK_HD float attention_bias(const AttentionArgs& a, int64_t b, int64_t h, int64_t i, int64_t j) {
    if (!a.bias) return 0.0f;
    const int64_t at = b * a.bias_stride[0] + h * a.bias_stride[1] + i * a.bias_stride[2] + j * a.bias_stride[3];
    return a.bias_f32 ? static_cast<const float*>(a.bias)[at] : load_float(static_cast<const T*>(a.bias)[at]);
}

}  // namespace dk
