// cpu/roofline.cpp - dk_roofline_fma on the cpu: the chains of bench/roofline.cuh on vectors
// as wide as this CPU's widest FMA: 16 floats with AVX-512 (where two 512-bit FMA units double the
// 8-wide rate), 8 with AVX2 + FMA, 8 in pairs of SSE registers otherwise; chosen at run time, so
// the ceiling is what this CPU can do, not what the baseline ISA allows. The GEMM's AVX-512
// micro-kernel is held to the same ceiling, so a product above 100% means the ceiling is wrong.
// The chains pass wide vectors between inlined functions of this file only: no ABI to keep.
#pragma GCC diagnostic ignored "-Wpsabi"
#include "bench/roofline.cuh"
#include "thread_pool.h"
#include "bench/roofline.h"

namespace dk::cpu {
namespace {

typedef float Lanes8 __attribute__((vector_size(32)));
typedef float Lanes16 __attribute__((vector_size(64)));

// One range of out, V-wide; always inlined into each ISA's entry so its vectors use that ISA.
template <typename V>
__attribute__((always_inline)) inline void fma_lanes(float* out, int64_t begin, int64_t end, int iterations) {
    constexpr int kLanes = sizeof(V) / sizeof(float);
    for (int64_t i = begin; i < end; i += kLanes) {
        V x;
        for (int l = 0; l < kLanes; ++l) x[l] = float((i + l) & 1023) * 1e-3f;
        const V r = roofline_chains(x, iterations);
        for (int l = 0; l < kLanes && i + l < end; ++l) out[i + l] = r[l];
    }
}

__attribute__((target("avx512f"))) void fma_avx512(float* out, int64_t b, int64_t e, int it) {
    fma_lanes<Lanes16>(out, b, e, it);
}
__attribute__((target("avx2,fma"))) void fma_avx2(float* out, int64_t b, int64_t e, int it) {
    fma_lanes<Lanes8>(out, b, e, it);
}
void fma_baseline(float* out, int64_t b, int64_t e, int it) { fma_lanes<Lanes8>(out, b, e, it); }

}  // namespace

void roofline_fma(const Exec&, float* out, int64_t n, int iterations) {
    static const auto range = __builtin_cpu_supports("avx512f") ? fma_avx512
                              : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? fma_avx2
                                                                                                : fma_baseline;
    parallel_range(n, 1024, [&](int64_t b, int64_t e) { range(out, b, e, iterations); });
}

}  // namespace dk::cpu
