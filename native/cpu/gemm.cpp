// cpu/gemm.cpp - batched matrix products on the cpu backend: a blocked sgemm with the kernels' epilogue.
//
// out[z] = op(a[z]) @ op(b[z]) is cut into blocks of at most kMc x kNc outputs; a thread-pool task
// takes one N block and a run of M blocks of one batch (runs split so there are a couple of tasks per
// worker, and capped at kMaxRunRows rows). A task walks K in blocks of at most kKc: it packs the
// Kc x Nc block of op(b) into panels of NR columns ([k][NR]) once, then for each M block of its run
// packs the Mc x Kc block of op(a) into panels of MR rows stored k-major ([k][MR]) and multiplies.
// The transposes, the f16 / bf16 -> f32 conversion and the zero fill past the M and N edges all
// happen in the packing, so the micro-kernel sees neither strides, dtypes nor edges: it multiplies
// one A panel by one B panel into an MR x NR register tile (rank-1 updates, one broadcast of A
// times NR/lanes vectors of B per row and k) and adds the tile to the task's f32 accumulator
// ([run rows][Nc]). After the last K block the accumulator goes through gemm/gemm_epilogue.cuh
// (bias, activation, residual, dtype) into out - or, with none of bias, activation and residual,
// through a plain converting store that vectorizes.
//
// Cache plan: a B panel (Kc x NR floats, 32 KB for AVX-512) stays in L1 while the A panels of the
// block stream past it from L2; the packed A block (Mc x Kc, 144 KB), the B block (Kc x Nc, 512 KB)
// and the accumulator's Mc x Nc rows in use stay in L2. FLOPs 2 M N K per batch; traffic: a is read
// N / Nc times, b once per run, the accumulator once per K block, out written once.
//
// The micro-kernel is written once on GCC vector types and built for the x86-64 baseline (SSE2,
// 6 x 8), AVX2 + FMA (6 x 16) and AVX-512 (12 x 32, using 24 of its 32 vector registers for the
// tile); the widest the running CPU supports is picked once (__builtin_cpu_supports), so what ships
// needs no -march. Vector values pass only between always-inlined functions of this file: no ABI.
#pragma GCC diagnostic ignored "-Wpsabi"
#include <algorithm>
#include <cstring>
#include <vector>

#include "deepkern/dispatch.h"
#include "gemm/gemm_epilogue.cuh"
#include "thread_pool.h"
#include "gemm/gemm.h"

namespace dk::cpu {
namespace {

constexpr int64_t kKc = 256, kMc = 144, kNc = 512;
constexpr int64_t kMaxRunRows = 1152;  // a task's f32 accumulator: at most kMaxRunRows x kNc (2.3 MB)

typedef float V4 __attribute__((vector_size(16)));
typedef float V8 __attribute__((vector_size(32)));
typedef float V16 __attribute__((vector_size(64)));

// c[MR x NR] (+)= a panel [kc][MR] times b panel [kc][NR]; packed panels and c rows need no alignment.
template <typename V, int MR, int NV>
__attribute__((always_inline)) inline void micro_tile(int64_t kc, const float* a, const float* b, float* c,
                                                      int64_t ldc, bool accumulate) {
    constexpr int L = int(sizeof(V) / sizeof(float));
    V acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = V{};
    for (int64_t k = 0; k < kc; ++k, a += MR, b += NV * L) {
        V bv[NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) std::memcpy(&bv[j], b + j * L, sizeof(V));
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const float s = a[i];
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[i][j] += s * bv[j];
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
            float* p = c + i * ldc + j * L;
            V v = acc[i][j];
            if (accumulate) {
                V old;
                std::memcpy(&old, p, sizeof(V));
                v += old;
            }
            std::memcpy(p, &v, sizeof(V));
        }
}

// Every (B panel, A panel) pair of a packed block; mc and nc are multiples of MR and NR.
template <typename V, int MR, int NV>
__attribute__((always_inline)) inline void multiply_block(int64_t mc, int64_t nc, int64_t kc, const float* a,
                                                          const float* b, float* c, int64_t ldc, bool accumulate) {
    constexpr int NR = NV * int(sizeof(V) / sizeof(float));
    for (int64_t j = 0; j < nc; j += NR)
        for (int64_t i = 0; i < mc; i += MR)
            micro_tile<V, MR, NV>(kc, a + i * kc, b + j * kc, c + i * ldc + j, ldc, accumulate);
}

using BlockFn = void (*)(int64_t, int64_t, int64_t, const float*, const float*, float*, int64_t, bool);

void block_sse2(int64_t mc, int64_t nc, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc) {
    multiply_block<V4, 6, 2>(mc, nc, kc, a, b, c, ldc, acc);
}

__attribute__((target("avx2,fma"))) void block_avx2(int64_t mc, int64_t nc, int64_t kc, const float* a,
                                                     const float* b, float* c, int64_t ldc, bool acc) {
    multiply_block<V8, 6, 2>(mc, nc, kc, a, b, c, ldc, acc);
}

__attribute__((target("avx512f"))) void block_avx512(int64_t mc, int64_t nc, int64_t kc, const float* a,
                                                      const float* b, float* c, int64_t ldc, bool acc) {
    multiply_block<V16, 12, 2>(mc, nc, kc, a, b, c, ldc, acc);
}

struct MicroKernel {
    int64_t mr, nr;
    BlockFn block;
};

const MicroKernel& micro_kernel() {
    static const MicroKernel k = [] {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) return MicroKernel{12, 32, block_avx512};
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return MicroKernel{6, 16, block_avx2};
        return MicroKernel{6, 8, block_sse2};
    }();
    return k;
}

// Rows r0 .. r0+rc-1, k0 .. k0+kc-1 of an operand as panels [k][width]; rows past rc are zero.
// The operand is stored [rows][K] (leading dimension ld) or, k_major, [K][rows], where each k's
// panel row is contiguous: op(a) is a [M][K] operand, op(b) a [N][K] one.
template <typename T>
void pack_panels(const T* X, bool k_major, int64_t ld, int64_t r0, int64_t rc, int64_t k0, int64_t kc, int64_t width,
                 float* dst) {
    for (int64_t i0 = 0; i0 < rc; i0 += width, dst += width * kc) {
        const int64_t rows = std::min(width, rc - i0);
        if (k_major) {
            for (int64_t k = 0; k < kc; ++k) {
                const T* src = X + (k0 + k) * ld + r0 + i0;
                for (int64_t i = 0; i < rows; ++i) dst[k * width + i] = load_float(src[i]);
                for (int64_t i = rows; i < width; ++i) dst[k * width + i] = 0.0f;
            }
        } else {
            for (int64_t i = 0; i < width; ++i) {
                const T* src = X + (r0 + i0 + i) * ld + k0;
                if (i < rows)
                    for (int64_t k = 0; k < kc; ++k) dst[k * width + i] = load_float(src[k]);
                else
                    for (int64_t k = 0; k < kc; ++k) dst[k * width + i] = 0.0f;
            }
        }
    }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

void gemm_workspace(const Exec&, DType, const GemmArgs&, int64_t* bytes) { *bytes = 0; }

void gemm(const Exec&, DType dtype, const GemmArgs& p) {
    if (p.batch * p.m * p.n == 0) return;
    const MicroKernel& uk = micro_kernel();
    // Blocks no larger than the cache plan allows; while there are fewer blocks than a couple of
    // tasks per worker, more M blocks (down to one panel each), then more N blocks; the sizes are
    // evened out so no block is a sliver. A task takes one N block and a run of M blocks, so it
    // packs each K block of B once for the whole run.
    int64_t mb = ceil_div(p.m, kMc), nb = ceil_div(p.n, kNc);
    const int64_t want = 2 * int64_t(worker_count());
    while (p.batch * mb * nb < want && mb * uk.mr < p.m) ++mb;
    while (p.batch * mb * nb < want && nb * uk.nr < p.n) ++nb;
    const int64_t mc_max = ceil_div(ceil_div(p.m, mb), uk.mr) * uk.mr, nc_max = ceil_div(ceil_div(p.n, nb), uk.nr) * uk.nr;
    mb = ceil_div(p.m, mc_max);
    nb = ceil_div(p.n, nc_max);
    const int64_t runs_wanted = std::min(mb, std::max<int64_t>(1, ceil_div(want, p.batch * nb)));
    const int64_t per_run = std::min(ceil_div(mb, runs_wanted), std::max<int64_t>(1, kMaxRunRows / mc_max));
    const int64_t runs = ceil_div(mb, per_run);
    // K = 0 makes one empty block, which zeroes the accumulator (the sum over nothing)
    const int64_t kb = std::max<int64_t>(1, ceil_div(p.k, kKc)), kc_max = std::max<int64_t>(1, ceil_div(p.k, kb));
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallel_for(p.batch * runs * nb, [&](int64_t task) {
            const int64_t z = task / (runs * nb), r0 = (task / nb % runs) * per_run * mc_max, n0 = task % nb * nc_max;
            const int64_t rows = std::min(per_run * mc_max, p.m - r0), nc = std::min(nc_max, p.n - n0);
            const int64_t ncp = ceil_div(nc, uk.nr) * uk.nr;
            thread_local std::vector<float> buffer;
            buffer.resize(size_t((mc_max + ncp) * kc_max + per_run * mc_max * ncp));
            float* pa = buffer.data();
            float* pb = pa + mc_max * kc_max;
            float* acc = pb + ncp * kc_max;  // [rows][ncp]
            int64_t a_off, b_off;
            gemm_batch_offsets(p, z, a_off, b_off);
            const T* A = static_cast<const T*>(p.a) + a_off;
            const T* B = static_cast<const T*>(p.b) + b_off;
            for (int64_t k0 = 0; k0 == 0 || k0 < p.k; k0 += kc_max) {  // K = 0 still zeroes acc once
                const int64_t kc = std::min(kc_max, p.k - k0);
                // op(b) as [N][K] panels: b is stored [K, N], k-major, unless trans_b
                pack_panels(B, !p.trans_b, p.trans_b ? p.k : p.n, n0, nc, k0, kc, uk.nr, pb);
                for (int64_t i0 = 0; i0 < rows; i0 += mc_max) {
                    const int64_t mc = std::min(mc_max, rows - i0);
                    pack_panels(A, p.trans_a, p.trans_a ? p.m : p.k, r0 + i0, mc, k0, kc, uk.mr, pa);
                    uk.block(ceil_div(mc, uk.mr) * uk.mr, ncp, kc, pa, pb, acc + i0 * ncp, ncp, k0 > 0);
                }
            }
            const bool plain = !p.bias && !p.act.kind && !p.residual;
            for (int64_t i = 0; i < rows; ++i) {
                const float* row = acc + i * ncp;
                if (plain) {  // nothing but the dtype's store: a loop the compiler vectorizes
                    T* o = static_cast<T*>(p.out) + (z * p.m + r0 + i) * p.n + n0;
                    for (int64_t j = 0; j < nc; ++j) store_float(o[j], row[j]);
                } else {
                    for (int64_t j = 0; j < nc; ++j) gemm_store<T>(p, z, r0 + i, n0 + j, row[j]);
                }
            }
        });
    });
}

}  // namespace dk::cpu
