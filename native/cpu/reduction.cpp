// cpu/reduction.cpp - reductions on the cpu backend: each output element's reduced elements on
// one thread (sums in f64), the outputs spread over the thread pool, with the
// kernels' own state and combine rule (reduction/reduction_bodies.cuh). A sum or mean over one run
// of elements (the reduced dims merged into one, the common case) keeps partial sums instead of
// one chain of dependent adds: a contiguous run of floats in the per-ISA loop of
// reduction_loops.inc (the dtype widened in the loop), any other run in eight scalar lanes. A run
// longer than kSumBlock (a whole tensor's sum) is cut into blocks summed on the pool, so one output
// does not run on one thread. Traffic: x read once, out written once.
#include <type_traits>
#include <vector>

#include "isa.h"
#include "reduction/reduction.h"
#include "reduction/reduction_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {
constexpr int kSumLanes = 32;  // reduction_loops.inc's f64 partial sums
}  // namespace dk::cpu

#define DK_ISA_BODY "reduction_loops.inc"
#include "isa_variants.h"

namespace dk::cpu {

namespace {

// The sum of n elements of x from `at`, `stride` apart, in Acc (integers wrap, as torch's).
template <typename Acc, typename T>
Acc run_sum(const T* x, int64_t at, int64_t stride, int64_t n) {
    if constexpr (!is_integer_dtype<T>::value) {
        if (stride == 1) {
            double s;
            DK_ISA_CALL(contiguous_sum<T>, x + at, n, &s);
            return Acc(s);
        }
    }
    using Add = typename std::conditional<std::is_integral<Acc>::value, uint64_t, Acc>::type;
    constexpr int kLanes = 8;
    Add part[kLanes] = {};
    int64_t r = 0;
    for (; r + kLanes <= n; r += kLanes)
        for (int l = 0; l < kLanes; ++l) {
            if constexpr (is_integer_dtype<T>::value) part[l] += Add(x[at + (r + l) * stride]);
            else part[l] += Add(load_float(x[at + (r + l) * stride]));
        }
    for (; r < n; ++r) {
        if constexpr (is_integer_dtype<T>::value) part[0] += Add(x[at + r * stride]);
        else part[0] += Add(load_float(x[at + r * stride]));
    }
    Add total = 0;
    for (int l = 0; l < kLanes; ++l) total += part[l];
    return Acc(total);
}

// A run longer than this is summed in blocks of this many elements on the pool, then the blocks'
// sums in order: the split is fixed by the length, so the result does not depend on the threads.
constexpr int64_t kSumBlock = 1 << 16;

// The sum of one long run (n > kSumBlock), its blocks spread over the pool.
template <typename Acc, typename T>
Acc blocked_sum(const T* x, int64_t at, int64_t stride, int64_t n) {
    using Add = typename std::conditional<std::is_integral<Acc>::value, uint64_t, Acc>::type;
    std::vector<Add> part(size_t((n + kSumBlock - 1) / kSumBlock));
    parallel_for(int64_t(part.size()), [&](int64_t k) {
        const int64_t first = k * kSumBlock, len = n - first < kSumBlock ? n - first : kSumBlock;
        part[size_t(k)] = Add(run_sum<Acc, T>(x, at + first * stride, stride, len));
    });
    Add total = 0;
    for (Add v : part) total += v;
    return Acc(total);
}

}  // namespace

void reduce(const Exec&, DType dtype, const ReduceArgs& a) {
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using Acc = typename std::conditional<is_integer_dtype<T>::value, int64_t, double>::type;
        const T* x = static_cast<const T*>(a.x);
        const bool one_run = reduce_is_sum(a.op) && a.inner_ndim == 1 && a.inner_numel > 0;
        if (one_run && a.inner_numel > kSumBlock) {  // long runs: each one's blocks on the pool
            for (int64_t o = 0; o < a.outer_numel; ++o) {
                const int64_t base = strided_offset(a.outer_ndim, a.outer_shape, a.outer_stride, o);
                reduce_store<Acc, T>(a, o, {blocked_sum<Acc, T>(x, base, a.inner_stride[0], a.inner_numel), 0});
            }
            return;
        }
        const int64_t grain = a.inner_numel >= (1 << 14) ? 1 : (1 << 14) / (a.inner_numel + 1) + 1;
        parallel_range(a.outer_numel, grain, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) {
                const int64_t base = strided_offset(a.outer_ndim, a.outer_shape, a.outer_stride, o);
                ReduceState<Acc> s = reduce_empty<Acc>();
                if (one_run) {
                    s = {run_sum<Acc, T>(x, base, a.inner_stride[0], a.inner_numel), 0};
                } else {
                    for (int64_t r = 0; r < a.inner_numel; ++r)
                        s = reduce_step<Acc, T>(a.op, s, x, base + strided_offset(a.inner_ndim, a.inner_shape, a.inner_stride, r), r);
                }
                reduce_store<Acc, T>(a, o, s);
            }
        });
    });
}

}  // namespace dk::cpu
