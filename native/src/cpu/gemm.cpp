// cpu/gemm.cpp - batched matrix products on the cpu backend: rows of the output on the thread
// pool, each row accumulated in f32 over k as a scaled sum of rows of op(b) (contiguous when b
// is not transposed, so the inner loop vectorizes), then the kernels' own epilogue.
#include <vector>

#include "deepkern/dispatch.h"
#include "deepkern/gemm_epilogue.cuh"
#include "thread_pool.h"

namespace dk::cpu {

void gemm(const Exec&, DType dtype, const GemmArgs& p) {
    if (p.batch * p.m * p.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const int64_t grain = p.n * p.k >= (1 << 16) ? 1 : (1 << 16) / (p.n * p.k + 1) + 1;
        parallel_range(p.batch * p.m, grain, [&](int64_t begin, int64_t end) {
            std::vector<float> acc(size_t(p.n)), brow(size_t(p.n));
            for (int64_t row = begin; row < end; ++row) {
                const int64_t z = row / p.m, m = row % p.m;
                int64_t a_off, b_off;
                gemm_batch_offsets(p, z, a_off, b_off);
                const T* A = static_cast<const T*>(p.a) + a_off;
                const T* B = static_cast<const T*>(p.b) + b_off;
                for (auto& v : acc) v = 0.0f;
                for (int64_t k = 0; k < p.k; ++k) {
                    const float av = load_float(p.trans_a ? A[k * p.m + m] : A[m * p.k + k]);
                    if (p.trans_b)
                        for (int64_t n = 0; n < p.n; ++n) brow[size_t(n)] = load_float(B[n * p.k + k]);
                    else
                        for (int64_t n = 0; n < p.n; ++n) brow[size_t(n)] = load_float(B[k * p.n + n]);
                    for (int64_t n = 0; n < p.n; ++n) acc[size_t(n)] += av * brow[size_t(n)];
                }
                for (int64_t n = 0; n < p.n; ++n) gemm_store<T>(p, z, m, n, acc[size_t(n)]);
            }
        });
    });
}

}  // namespace dk::cpu
