// cpu/tensor.cpp - fill, cast, randn and the strided copy on the cpu backend, element for element the same
// formulas as kernels/tensor/tensor.cu (shared headers), spread over the thread pool; randn draws
// the same Philox stream with its own vectorized Box-Muller (randn_loops.inc).
#include <cmath>

#include "deepkern/dispatch.h"
#include "deepkern/philox.cuh"
#include "isa.h"
#include "tensor/strided.cuh"
#include "thread_pool.h"
#include "deepkern/vec_math.h"
#include "tensor/tensor.h"

#define DK_ISA_BODY "index_loops.inc"
#include "isa_variants.h"
#define DK_ISA_BODY "randn_loops.inc"
#include "isa_variants.h"

namespace dk::cpu {

constexpr int64_t kGrain = 1 << 15;

void fill(const Exec&, DType dtype, void* out, int64_t n, double value) {
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T v;
        if constexpr (is_integer_dtype<T>::value) v = saturating_int<T>(value);
        else store_float(v, float(value));
        T* y = static_cast<T*>(out);
        parallel_range(n, kGrain, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) y[i] = v;
        });
    });
}

void cast(const Exec&, DType from, const void* x, DType to, void* out, int64_t n) {
    dispatch_all(from, [&](auto from_tag) {
        dispatch_all(to, [&](auto to_tag) {
            using F = typename decltype(from_tag)::type;
            using T = typename decltype(to_tag)::type;
            const F* src = static_cast<const F*>(x);
            T* dst = static_cast<T*>(out);
            // the f16 / bf16 conversions are branch-free: the loop vectorizes at the CPU's width
            const auto body = [=](int64_t i) { dst[i] = convert<T>(src[i]); };
            DK_ISA_CALL(each_index<decltype(body)>, body, n, kGrain);
        });
    });
}

// Vectorized Box-Muller (randn_loops.inc): the kernels' stream, to a few ulps of their values.
void randn(const Exec&, DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_range((n + 3) / 4, kGrain / 4, [&](int64_t b0, int64_t b1) {
            DK_ISA_CALL(randn_blocks<T>, static_cast<T*>(out), n, b0, b1, seed, offset);
        });
    });
}

void strided_copy(const Exec&, DType dtype, const StridedCopyArgs& a) {
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* x = static_cast<const T*>(a.x);
        T* y = static_cast<T*>(a.out);
        parallel_range(a.numel, kGrain, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) y[strided_target(a, i)] = x[strided_source(a, i)];
        });
    });
}

}  // namespace dk::cpu
