// cpu/roofline.cpp - dk_roofline_fma on the cpu: the chains of deepkern/roofline.cuh on
// 8-float vectors, built for AVX-512, AVX2+FMA and plain x86-64 and chosen at run time, so
// the ceiling it measures is what this CPU can do, not what the baseline ISA allows.
// The chains pass 32-byte vectors between inlined functions of this file only: no ABI to keep.
#pragma GCC diagnostic ignored "-Wpsabi"
#include "deepkern/ops.h"
#include "deepkern/roofline.cuh"
#include "thread_pool.h"

namespace dk::cpu {

typedef float Lanes __attribute__((vector_size(32)));
constexpr int kLanes = sizeof(Lanes) / sizeof(float);

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
static void fma_range(float* out, int64_t begin, int64_t end, int iterations) {
    for (int64_t i = begin; i < end; i += kLanes) {
        Lanes x;
        for (int l = 0; l < kLanes; ++l) x[l] = float((i + l) & 1023) * 1e-3f;
        const Lanes r = roofline_chains(x, iterations);
        for (int l = 0; l < kLanes && i + l < end; ++l) out[i + l] = r[l];
    }
}

void roofline_fma(const Exec&, float* out, int64_t n, int iterations) {
    parallel_range(n, 1024, [&](int64_t b, int64_t e) { fma_range(out, b, e, iterations); });
}

}  // namespace dk::cpu
