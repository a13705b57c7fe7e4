// cpu/tensor.cpp - fill, cast, randn and the strided copy on the cpu backend, element for element the same
// formulas as kernels/tensor/tensor.cu (shared headers), spread over the thread pool.
#include "deepkern/dispatch.h"
#include "deepkern/philox.cuh"
#include "tensor/strided.cuh"
#include "isa.h"
#include "thread_pool.h"
#include "tensor/tensor.h"

#define DK_ISA_BODY "index_loops.inc"
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

void randn(const Exec&, DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* y = static_cast<T*>(out);
        const int64_t blocks = (n + 3) / 4;
        parallel_range(blocks, kGrain / 4, [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; ++b) {
                Philox4 r = philox4x32_10(offset + uint64_t(b), 0, seed);
                float z[4];
                box_muller(r.v[0], r.v[1], &z[0], &z[1]);
                box_muller(r.v[2], r.v[3], &z[2], &z[3]);
                for (int k = 0; k < 4 && 4 * b + k < n; ++k) store_float(y[4 * b + k], z[k]);
            }
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
