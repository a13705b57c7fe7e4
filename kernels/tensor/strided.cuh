// strided.cuh - where element i of a strided copy comes from in x and goes to in out: i unflattened
// over the copy's shape, dotted with each side's strides. One definition for the kernels and the
// cpu loop (64-bit divisions), and the kernels' form for copies below 2^31 elements (multiply-high
// divisors made once on the host).
#pragma once

#include "deepkern/strides.cuh"
#include "tensor/tensor.h"

namespace dk {

DK_HD int64_t strided_source(const StridedCopyArgs& a, int64_t i) {
    return strided_offset(a.ndim, a.shape, a.x_stride, i);
}

// Where element i goes in out.
DK_HD int64_t strided_target(const StridedCopyArgs& a, int64_t i) {
    return a.out_strided ? strided_offset(a.ndim, a.shape, a.out_stride, i) : i;
}

// n / d for n < 2^31 and 0 < d < 2^31 by a multiply-high, add and shift: s = ceil(log2 d),
// m = floor(2^32 (2^s - d) / d) + 1, n / d = (mulhi(n, m) + n) >> s (Granlund and Montgomery,
// "Division by invariant integers using multiplication", 1994; the sum stays below 2^32). The GPU
// has no integer divide: a 64-bit division is a ~70-instruction routine.
struct FastDiv {
    uint32_t d = 1, m = 1, s = 0;

    FastDiv() = default;
    explicit FastDiv(uint32_t divisor) : d(divisor) {
        while ((uint64_t(1) << s) < d) ++s;
        m = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << s) - d)) / d + 1);
    }
    DK_HD uint32_t div(uint32_t n) const {
#if defined(__CUDA_ARCH__)
        return (__umulhi(n, m) + n) >> s;
#else
        return (uint32_t((uint64_t(n) * m) >> 32) + n) >> s;
#endif
    }
};

// Whether every index of the copy is below 2^31, so the fast divisors hold.
inline bool strided_small(const StridedCopyArgs& a) { return a.numel < (int64_t(1) << 31); }

// Whether it goes in runs of `run` elements: small, and last-dim rows a whole number of runs, so
// a run starting at a multiple of `run` stays in one row.
inline bool strided_runs(const StridedCopyArgs& a, int run) {
    return strided_small(a) && a.ndim > 0 && a.shape[a.ndim - 1] % run == 0;
}

// The strided copy's divisors, one per dim (dim 0's unused), made on the host for the kernel;
// the default ones (all 1) for a copy that is not small.
struct StridedDivisors {
    FastDiv dim[kMaxStridedDims];

    static StridedDivisors of(const StridedCopyArgs& a) {
        StridedDivisors div;
        if (strided_small(a))
            for (int d = 0; d < a.ndim; ++d) div.dim[d] = FastDiv(uint32_t(a.shape[d]));
        return div;
    }
};

// Where element i (< 2^31) comes from in x and goes to in out (when out_strided), with the fast
// divisors.
struct StridedAt {
    int64_t source, target;
};

DK_HD StridedAt strided_at(const StridedCopyArgs& a, const StridedDivisors& div, uint32_t i) {
    StridedAt at{0, 0};
    for (int d = a.ndim - 1; d > 0; --d) {
        const uint32_t q = div.dim[d].div(i), r = i - q * uint32_t(a.shape[d]);
        at.source += int64_t(r) * a.x_stride[d];
        at.target += int64_t(r) * a.out_stride[d];
        i = q;
    }
    at.source += int64_t(i) * a.x_stride[0];
    at.target += int64_t(i) * a.out_stride[0];
    return at;
}

}  // namespace dk
