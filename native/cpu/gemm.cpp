// cpu/gemm.cpp - batched matrix products on the cpu backend: a blocked sgemm with the kernels' epilogue.
//
// out[z] = act(op(a[z]) @ op(b[z]) + bias) + residual[z]. Per batch, op(b) is packed once, whole,
// into panels of NR columns ([k][NR], K blocks of at most kKc), shared by every task; the outputs
// are cut into blocks of at most kMc x kNc, one thread-pool task each. A task walks K in blocks:
// it packs its Mc x Kc block of op(a) into panels of MR rows ([k][MR]) and multiplies it by the
// B panels of its columns into an f32 accumulator [Mc][Nc]; after the last K block the epilogue
// (bias, activation, residual, dtype) writes each row of out. The transposes, the f16 / bf16 ->
// f32 conversion and the zero fill past the M and N edges all happen in the packing, so the
// micro-kernel sees neither strides, dtypes nor edges (gemm_loops.inc: MR x NR register tile,
// rank-1 updates). The left operand may also be an NHWC convolution's implicit im2col
// (gemm_conv_nhwc): rows are output pixels, read from x tap by tap. In f32 a full panel of MR
// such rows is not packed at all: the micro-kernel broadcasts its values from x (MR row pointers
// per tap, a row of zeros for a tap in the padding), the same rank-1 updates in the same order as
// from a packed panel, so the same bits; the M edge's panel, and f16 / bf16, are packed. Where the
// output channels are few (N = 64: two B panels), packing A cost as much as the product.
//
// Cache plan (Sapphire Rapids: 48 KB L1d, 2 MB L2 per core): a B panel (Kc x NR floats, 32 KB for
// AVX-512) stays in L1 while the Mc / MR A panels of the block (12 KB each) stream past it from
// L2; the packed A block (Mc x Kc, 144 KB) and the accumulator (Mc x Nc, up to 576 KB) stay in L2;
// the packed B (K x N) streams from L3, each panel used for Mc / MR tiles. FLOPs 2 M N K per
// batch; traffic: op(a) read N / Nc times, op(b) once (packing) plus M / Mc times packed, out
// written once.
//
// Each output's sum runs over the K blocks in order, their size a function of K alone, and the
// tile's arithmetic does not depend on where the tile sits: results are the same for any block
// plan and thread count. The loops are built per ISA (isa.h); cpu_isa() picks the copy, so
// DEEPKERN_CPU_ISA caps it: SSE2 6 x 8, AVX2 + FMA 6 x 16, AVX-512 12 x 32.
#pragma GCC diagnostic ignored "-Wpsabi"
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "activation/activations.cuh"
#include "deepkern/dispatch.h"
#include "gemm/gemm_epilogue.cuh"
#include "gemm_cpu.h"
#include "isa.h"
#include "thread_pool.h"

namespace dk::cpu {

struct GemmPlan {
    int64_t mc, nc, kc, mb, nb, z_chunk;
};

}  // namespace dk::cpu

#define DK_ISA_BODY "gemm_loops.inc"
#include "isa_variants.h"

namespace dk::cpu {
namespace {

constexpr int64_t kKc = 256, kMc = 144, kNc = 1024;
constexpr int64_t kPackedFloats = int64_t(1) << 24;  // packed op(b) of a chunk of batches: 64 MB

struct NoActivation {
    float operator()(float x) const { return x; }
};

// A stored operand: k_major, element (k, r) at base[k * ld + r]; else row r's K values at base + r * ld.
template <typename T>
struct MatrixSource {
    const T* base;
    int64_t ld, seg;
    bool k_major;
    const GemmArgs* p;
    bool is_a;
    static constexpr bool direct_rows = false;
    __attribute__((always_inline)) const T* at(int64_t k, int64_t r) const { return base + k * ld + r; }
    __attribute__((always_inline)) const T* row(int64_t r, int64_t) const { return base + r * ld; }
    MatrixSource batch(int64_t z) const {
        int64_t a_off, b_off;
        gemm_batch_offsets(*p, z, a_off, b_off);
        MatrixSource s = *this;
        s.base += is_a ? a_off : b_off;
        return s;
    }
};

// op(a) [M][K] of a product, op(b) as its [N][K] rows.
template <typename T>
MatrixSource<T> operand(const GemmArgs& p, bool is_a) {
    const bool trans = is_a ? p.trans_a : p.trans_b;
    // op(a) rows are a's rows unless trans_a; op(b)'s "rows" (its columns n) are k-major unless trans_b
    const bool k_major = is_a ? trans : !trans;
    const int64_t ld = is_a ? (trans ? p.m : p.k) : (trans ? p.k : p.n);
    return {static_cast<const T*>(is_a ? p.a : p.b), ld, std::max<int64_t>(1, p.k), k_major, &p, is_a};
}

// The implicit im2col of an NHWC convolution without groups: row m = output pixel (n, p, q), its
// K = R * S * C values in segments of C, one per tap (r, s): x at the tap's input pixel, or zeros
// in the padding.
template <typename T>
struct ConvSource {
    const T* x;
    const ConvGeom* g;
    int64_t seg;
    static constexpr bool k_major = false, direct_rows = true;
    const T* at(int64_t, int64_t) const { return nullptr; }
    __attribute__((always_inline)) const T* row(int64_t m, int64_t tap) const {
        const int64_t q = m % g->q, t = m / g->q, p = t % g->p, n = t / g->p, r = tap / g->s, s = tap - r * g->s;
        const int64_t h = p * g->stride_h - g->pad_h + r * g->dil_h, w = q * g->stride_w - g->pad_w + s * g->dil_w;
        return h >= 0 && h < g->h && w >= 0 && w < g->w ? x + ((n * g->h + h) * g->w + w) * g->c : nullptr;
    }
    const ConvSource& batch(int64_t) const { return *this; }
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks of at most kMc x kNc outputs, K blocks of at most kKc (their size a function of K
// alone); more M blocks (down to one panel each) while there are fewer than a couple of tasks per
// worker, and a block count that splits evenly over the workers where blocks are few.
GemmPlan plan_of(const GemmArgs& p) {
    int64_t mr, nr;
    DK_ISA_CALL(gemm_tile_shape, &mr, &nr);
    const int64_t ncp = ceil_div(p.n, nr) * nr, workers = worker_count();
    GemmPlan plan{};
    plan.z_chunk = std::clamp<int64_t>(kPackedFloats / std::max<int64_t>(1, std::max<int64_t>(1, p.k) * ncp), 1, p.batch);
    plan.nb = ceil_div(ncp, kNc);
    plan.nc = ceil_div(ceil_div(ncp, plan.nb), nr) * nr;
    plan.nb = ceil_div(p.n, plan.nc);
    int64_t mb = ceil_div(p.m, kMc);
    const int64_t max_mb = ceil_div(p.m, mr);
    while (plan.z_chunk * mb * plan.nb < 2 * workers && mb < max_mb) ++mb;
    while (plan.z_chunk * mb * plan.nb < 16 * workers && (plan.z_chunk * mb * plan.nb) % workers && mb < max_mb) ++mb;
    plan.mc = ceil_div(ceil_div(p.m, mb), mr) * mr;
    plan.mb = ceil_div(p.m, plan.mc);
    plan.kc = std::max<int64_t>(1, ceil_div(p.k, std::max<int64_t>(1, ceil_div(p.k, kKc))));
    return plan;
}

template <typename T, typename ASrc>
void run(const GemmArgs& p, const ASrc& a, bool row_bias = false) {
    const GemmPlan plan = plan_of(p);
    const MatrixSource<T> b = operand<T>(p, false);
    if (!p.act.kind) {
        DK_ISA_CALL(gemm_blocks<T>, p, plan, a, b, NoActivation{}, row_bias);
        return;
    }
    dispatch_activation(p.act, [&](auto act) { DK_ISA_CALL(gemm_blocks<T>, p, plan, a, b, act, row_bias); });
}

}  // namespace

void gemm_workspace(const Exec&, DType, const GemmArgs&, int64_t* bytes) { *bytes = 0; }

void gemm(const Exec&, DType dtype, const GemmArgs& p) {
    if (p.batch * p.m * p.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        run<T>(p, operand<T>(p, true));
    });
}

void gemm_row_bias(DType dtype, const GemmArgs& p) {
    if (p.batch * p.m * p.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        run<T>(p, operand<T>(p, true), true);
    });
}

void gemm_conv_nhwc(DType dtype, const GemmArgs& p, const ConvGeom& g) {
    if (p.m * p.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        run<T>(p, ConvSource<T>{static_cast<const T*>(p.a), &g, g.c});
    });
}

}  // namespace dk::cpu
