// dialect_checks.cpp - emulated kernels built into the test, for what the self-tests do not reach:
// ldmatrix .x1/.x2/.x4 with and without .trans against the PTX layout, cvt.rna.tf32.f32 and
// mma.m16n8k8.tf32 (fed by ldmatrix from f32 tiles), red.global.add.v2.f32, votes, shuffle widths,
// barrier predicates, atomics, cp.async wait semantics, mbarrier phases and transactions in a
// producer / consumer ring, named barriers, elect.sync, setmaxnreg, and the strict checks that
// have no planted-bug self-test (barrier call sites, mask disagreement, block size, dynamic and
// static shared memory bounds, poison and limits, misaligned 16-byte accesses).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "deepkern/async_copy.cuh"
#include "deepkern/pipeline_sync.cuh"
#include "deepkern/mma.cuh"
#include "deepkern/packs.cuh"
#include "deepkern/portable.cuh"

#include "emu_checks.h"

namespace {

using emu_checks::expect;
using emu_checks::expect_kernel_error;
using emu_checks::Scheduled;

uint16_t element(int matrix, int row, int col) { return uint16_t(matrix * 64 + row * 8 + col); }

// Four 8x8 b16 matrices in shared memory; lane 8j+i gives row i of matrix j.
template <int N, bool Trans>
__global__ void ldmatrix_kernel(uint32_t* out) {
    DK_DYNAMIC_SHARED(uint16_t, m);
    for (int i = threadIdx.x; i < 256; i += 32) m[i] = element(i / 64, i / 8 % 8, i % 8);
    __syncthreads();
    uint32_t r[N];
    dk::ldmatrix<N, Trans>(r, &m[(threadIdx.x % (8 * N)) * 8]);
    for (int j = 0; j < N; ++j) out[threadIdx.x * 4 + j] = r[j];
}

template <int N, bool Trans>
void check_ldmatrix(const dk::Exec& ex) {
    std::vector<uint32_t> out(128, 0);
    dk::launch(ex, "ldmatrix", ldmatrix_kernel<N, Trans>, dim3(1), dim3(32), 512, out.data());
    for (int l = 0; l < 32; ++l)
        for (int j = 0; j < N; ++j) {
            const int a = l >> 2, b = 2 * (l & 3);  // row, first column (swapped by .trans)
            const uint32_t want = Trans ? element(j, b, a) | uint32_t(element(j, b + 1, a)) << 16
                                        : element(j, a, b) | uint32_t(element(j, a, b + 1)) << 16;
            expect(out[size_t(l * 4 + j)] == want, "ldmatrix x" + std::to_string(N) + (Trans ? ".trans" : "") +
                                                       " lane " + std::to_string(l) + " reg " + std::to_string(j));
        }
}

__global__ void warp_kernel(int* out) {
    const int lane = threadIdx.x;
    out[0] = int(__ballot_sync(0xffffffffu, lane % 3 == 0));
    out[1] = __any_sync(0xffffffffu, lane == 7);
    out[2] = __all_sync(0xffffffffu, lane < 31);
    out[3] = int(__activemask());
    out[4 + lane] = __shfl_sync(0xffffffffu, lane * 10, 3, 8);       // lane 3 of its 8-lane segment
    out[36 + lane] = __shfl_up_sync(0xffffffffu, lane, 2, 8);        // keeps its own in the first 2
    out[68 + lane] = __shfl_down_sync(0xffffffffu, lane, 2, 8);      // keeps its own in the last 2
    __syncwarp(lane < 16 ? 0x0000ffffu : 0xffff0000u);                 // two disjoint groups: legal
}

__global__ void block_kernel(int* out, float* fsum) {
    DK_SHARED(float, s, );
    if (threadIdx.x == 0) s = 0.0f;
    const int count = __syncthreads_count(threadIdx.x % 4 == 0);
    const int all = __syncthreads_and(threadIdx.x < 1000);
    const int any = __syncthreads_or(threadIdx.x == 5);
    atomicAdd(&s, 0.5f);
    atomicMax(&out[3], int(threadIdx.x));
    atomicCAS(&out[4], 0, 42);
    __syncthreads();
    if (threadIdx.x == 0) {
        out[0] = count;
        out[1] = all;
        out[2] = any;
        atomicAdd(fsum, s);
    }
}

__global__ void cp_async_kernel(const float* src, float* out) {
    DK_DYNAMIC_SHARED(float, s);
    dk::cp_async<4>(&s[threadIdx.x], src + threadIdx.x);
    dk::cp_async_commit();
    out[threadIdx.x] = s[threadIdx.x];  // before the wait: not landed
    dk::cp_async_wait<0>();
    out[32 + threadIdx.x] = s[threadIdx.x];
}

// Even lanes copy 16 bytes, odd lanes zero-fill theirs (src-size 0: nothing is read).
__global__ void cp_async_zfill_kernel(const float* src, float* out) {
    DK_DYNAMIC_SHARED(float, s);
    const bool valid = threadIdx.x % 2 == 0;
    dk::cp_async_zfill(&s[4 * threadIdx.x], src + 4 * threadIdx.x, valid);
    dk::cp_async_commit();
    out[threadIdx.x] = s[4 * threadIdx.x];  // before the wait: neither the data nor the zeros
    dk::cp_async_wait<0>();
    for (int i = 0; i < 4; ++i) out[32 + 4 * threadIdx.x + i] = s[4 * threadIdx.x + i];
}

__global__ void two_barriers_kernel() {
    if (threadIdx.x < 16) __syncthreads();
    else __syncthreads();
}

__global__ void mask_mismatch_kernel() {
    __syncwarp(threadIdx.x < 16 ? 0xffffffffu : 0xffff0000u);  // lanes 16-31 disagree
}

__global__ void shared_oob_kernel(float* out) {
    DK_DYNAMIC_SHARED(float, s);
    out[threadIdx.x] = s[threadIdx.x + 1];
}

// Reads s[i] (before any write in this block), then writes it: the read must be the poison,
// never the value the previous block wrote.
__global__ void static_poison_kernel(float* out) {
    DK_SHARED(float, s, [32]);
    out[blockIdx.x * 32 + threadIdx.x] = s[threadIdx.x];
    __syncthreads();
    s[threadIdx.x] = 1.0f;
}

__global__ void static_oob_kernel(float* out) {
    DK_SHARED(float, tile, [4][8]);
    tile[threadIdx.x % 4][threadIdx.x] = 0.0f;  // column 8 and on are past the inner dimension
    out[threadIdx.x] = tile[0][0];
}

__global__ void static_too_big_kernel(float* out) {
    DK_SHARED(float, big, [12 * 1024 + 1]);
    big[threadIdx.x] = 1.0f;
    out[threadIdx.x] = big[threadIdx.x];
}

__global__ void static_plus_dynamic_kernel(float* out) {
    DK_SHARED(float, s, [1024]);
    s[threadIdx.x] = 2.0f;
    out[threadIdx.x] = s[threadIdx.x];
}

// A 16-byte pack load at p: a GPU faults when p is not 16-byte aligned.
__global__ void pack_load_kernel(const float* p, float* out) { out[threadIdx.x] = dk::load<4>(p).v[0]; }

// cvt.rna.tf32.f32 on bit patterns: nearest with ties away from zero, carries into the exponent
// and past the largest tf32, infinities, NaNs, subnormals.
void check_to_tf32() {
    const struct { uint32_t in, out; } cases[] = {
        {0x3f800000u, 0x3f800000u},  // 1: exact
        {0x3f801000u, 0x3f802000u},  // 1 + 2^-11, halfway: away from zero
        {0x3f800fffu, 0x3f800000u},  // just below halfway: down
        {0xbf801000u, 0xbf802000u},  // -(1 + 2^-11): away from zero too
        {0x3fffffffu, 0x40000000u},  // carry into the exponent
        {0x7f7fffffu, 0x7f800000u},  // the largest f32 rounds past the largest tf32: infinity
        {0xff800000u, 0xff800000u},  // -infinity stays
        {0x00001000u, 0x00002000u},  // a subnormal tie
        {0x7f800001u, 0x7fc00000u},  // a signalling NaN with payload in the dropped bits: a quiet NaN
    };
    for (const auto& c : cases) {
        float x;
        std::memcpy(&x, &c.in, 4);
        const uint32_t got = dk::to_tf32(x);
        expect(got == c.out, "to_tf32(" + std::to_string(c.in) + ") = " + std::to_string(got) + ", want " +
                                 std::to_string(c.out));
    }
}

// One mma.m16n8k8.tf32 from f32 tiles in shared memory read with ldmatrix as mma.cuh describes: A
// [16][8] (x4: rows +0 / +8, k +0 / +4), B stored [n][k] [8][8] (x2: k +0 / +4). d [16][8].
__global__ void mma_tf32_kernel(const float* a, const float* b, float* d, bool convert) {
    DK_DYNAMIC_SHARED(float, m);  // A at 0, B at 128
    for (int i = threadIdx.x; i < 192; i += 32) m[i] = i < 128 ? a[i] : b[i - 128];
    __syncthreads();
    const int lane = threadIdx.x, g = lane / 4, t = lane % 4;
    uint32_t af[4], bf[2];
    dk::ldmatrix<4>(af, &m[(lane % 16) * 8 + 4 * (lane / 16)]);
    dk::ldmatrix<2>(bf, &m[128 + (lane % 8) * 8 + 4 * (lane / 8 % 2)]);
    if (convert) {
        for (uint32_t& r : af) r = dk::to_tf32(__uint_as_float(r));
        for (uint32_t& r : bf) r = dk::to_tf32(__uint_as_float(r));
    }
    float acc[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    dk::mma_m16n8k8_tf32(acc, af, bf, acc);
    for (int i = 0; i < 4; ++i) d[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = acc[i];
}

void check_mma_tf32(const dk::Exec& ex) {
    std::vector<float> a(128), b(64), d(128, 0.0f);
    for (int i = 0; i < 128; ++i) a[size_t(i)] = 1.0f + float(i) / 3.0f;  // values with low mantissa bits set
    for (int i = 0; i < 64; ++i) b[size_t(i)] = float(i % 7) - 2.3f;
    dk::launch(ex, "mma_tf32", mma_tf32_kernel, dim3(1), dim3(32), 192 * 4, a.data(), b.data(), d.data(), true);
    const auto tf32 = [](float x) {
        const uint32_t u = dk::to_tf32(x);
        float f;
        std::memcpy(&f, &u, 4);
        return double(f);
    };
    for (int i = 0; i < 16; ++i)
        for (int n = 0; n < 8; ++n) {
            double want = 0.5;
            for (int k = 0; k < 8; ++k) want += tf32(a[size_t(i * 8 + k)]) * tf32(b[size_t(n * 8 + k)]);
            expect(std::fabs(d[size_t(i * 8 + n)] - want) <= 1e-5 * std::fabs(want) + 1e-5,
                   "mma tf32 d[" + std::to_string(i) + "][" + std::to_string(n) + "] = " +
                       std::to_string(d[size_t(i * 8 + n)]) + ", want " + std::to_string(want));
        }
    expect_kernel_error("mma tf32 of unconverted f32", "is not a tf32 value", [&] {
        dk::launch(ex, "mma_tf32", mma_tf32_kernel, dim3(1), dim3(32), 192 * 4, a.data(), b.data(), d.data(), false);
    });
}

// Every thread of 4 blocks adds (1, 2) to the pair at p (+ offset floats): contended vector reductions.
__global__ void add2_kernel(float* p, int offset) { dk::atomic_add2(p + offset, 1.0f, 2.0f); }

void check_atomic_add2(const dk::Exec& ex) {
    alignas(16) float pair[4] = {0, 0, 0, 0};
    dk::launch(ex, "add2", add2_kernel, dim3(4), dim3(64), 0, pair, 0);
    expect(pair[0] == 256.0f && pair[1] == 512.0f && pair[2] == 0.0f,
           "atomic_add2: got " + std::to_string(pair[0]) + ", " + std::to_string(pair[1]));
    expect_kernel_error("atomic_add2 at a 4-byte offset", "not 8-byte aligned",
                        [&] { dk::launch(ex, "add2", add2_kernel, dim3(1), dim3(32), 0, pair, 1); });
}

__global__ void empty_kernel() {}

// Touches the last byte of 64 KB of dynamic shared memory.
__global__ void opt_in_kernel() {
    DK_DYNAMIC_SHARED(float, smem);
    smem[64 * 1024 / 4 - 1 - threadIdx.x] = 1.0f;
}

}  // namespace

// A producer warp fills a 2-stage ring of 64-float tiles for two consumer warps, as a TMA producer
// would: the elected lane announces the stage's 256 bytes (arrive.expect_tx on full[s]), every lane
// stores its 8 bytes and completes them; consumers wait on full[s] with the phase's parity, compute
// out = 2 a + 1 and release the stage (64 arrivals on empty[s]), which the producer waits for before
// refilling it. Bug::short_tx announces 4 bytes more than arrive: the consumers' wait never ends.
enum class RingBug { none, short_tx, no_init, overwrite, over_arrive };

template <RingBug Bug>
__global__ void mbarrier_ring_kernel(const float* a, float* out, int tiles) {
    constexpr int kStages = 2, kTile = 64;
    DK_SHARED(uint64_t, full, [kStages]);
    DK_SHARED(uint64_t, empty, [kStages]);
    DK_SHARED(float, data, [kStages][kTile]);
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    if (tid == 0 && Bug != RingBug::no_init)
        for (int s = 0; s < kStages; ++s) {
            dk::mbarrier_init(&full[s], 1);
            dk::mbarrier_init(&empty[s], 2 * 32);
        }
    __syncthreads();
    if (warp == 0) {
        for (int i = 0; i < tiles; ++i) {
            const int s = i % kStages;
            if (i >= kStages) dk::mbarrier_wait_parity(&empty[s], unsigned(i / kStages - 1) & 1);
            if (dk::elect_one_sync())
                dk::mbarrier_arrive_expect_tx(&full[s], kTile * 4 + (Bug == RingBug::short_tx ? 4 : 0));
            for (int j = 0; j < 2; ++j) data[s][2 * lane + j] = a[i * kTile + 2 * lane + j];
            dk::mbarrier_complete_tx(&full[s], 8);
        }
    } else {
        const int c = tid - 32;
        for (int i = 0; i < tiles; ++i) {
            const int s = i % kStages;
            if (Bug == RingBug::overwrite && i == 1 && c == 0) reinterpret_cast<volatile uint32_t*>(&empty[0])[0] = 0;
            dk::mbarrier_wait_parity(&full[s], unsigned(i / kStages) & 1);
            out[i * kTile + c] = 2.0f * data[s][c] + 1.0f;
            dk::mbarrier_arrive(&empty[s], Bug == RingBug::over_arrive && c == 0 ? 2 * 32 : 1);
        }
    }
}

// The consumers spin on try_wait instead of blocking; Stuck: the arrival never comes.
template <bool Stuck>
__global__ void mbarrier_spin_kernel(float* out) {
    DK_SHARED(uint64_t, bar, [1]);
    DK_SHARED(float, value, [1]);
    if (threadIdx.x == 0) dk::mbarrier_init(&bar[0], 1);
    __syncthreads();
    if (threadIdx.x == 40 && !Stuck) {
        value[0] = 42.0f;
        dk::mbarrier_arrive(&bar[0]);
    }
    if (threadIdx.x < 32) {
        while (!dk::mbarrier_try_wait_parity(&bar[0], 0)) {
        }
        out[threadIdx.x] = value[0];
    }
}

__global__ void elect_kernel(int* out) {
    if (dk::elect_one_sync()) atomicAdd(&out[threadIdx.x / 32], int(threadIdx.x % 32) + 1);
    out[2 + threadIdx.x / 32 * 32 + threadIdx.x % 32] = dk::elect_one_sync() ? 1 : 0;
}

// Named barriers: warp 0 writes a tile and signals the two consumer warps (bar.arrive 1, 96) without
// waiting; they wait (bar.sync 1, 96), each writes the tile's sum over its half, syncs with the other
// consumer only (bar.sync 2, 64) and adds the other's half. Bug: a count the threads disagree on
// (disagree), a barrier short of one warp (short_count: deadlock), barrier 0 (reserved).
enum class NamedBug { none, disagree, short_count, id_zero };

template <NamedBug Bug>
__global__ void named_barrier_kernel(const float* a, float* out) {
    DK_SHARED(float, tile, [64]);
    DK_SHARED(float, half, [2]);
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    if (warp == 0) {
        tile[2 * lane] = a[2 * lane];
        tile[2 * lane + 1] = a[2 * lane + 1];
        dk::named_barrier_arrive(Bug == NamedBug::id_zero ? 0 : 1, 96);
        return;
    }
    dk::named_barrier_sync(1, Bug == NamedBug::disagree && tid == 40 ? 64 : 96);
    float v = tile[32 * (warp - 1) + lane];
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    if (lane == 0) half[warp - 1] = v;
    dk::named_barrier_sync(2, Bug == NamedBug::short_count ? 96 : 64);
    out[tid - 32] = half[0] + half[1];
}

void check_named_barriers(const dk::Exec& ex) {
    std::vector<float> a(64), out(64, 0.0f);
    float sum = 0.0f;
    for (int i = 0; i < 64; ++i) sum += a[size_t(i)] = float(i % 7) - 2.0f;
    for (int schedule : {DK_EMU_FORWARD, DK_EMU_REVERSE, DK_EMU_RANDOM}) {
        const Scheduled e(ex, schedule);
        std::fill(out.begin(), out.end(), 0.0f);
        dk::launch(e, "named_barrier", named_barrier_kernel<NamedBug::none>, dim3(2), dim3(96), 0,
                   static_cast<const float*>(a.data()), out.data());
        bool right = true;
        for (float v : out) right &= v == sum;
        expect(right, "named barriers (bar.arrive / bar.sync over subsets), schedule " + std::to_string(schedule));
    }
    const float* ap = a.data();
    float* op = out.data();
    expect_kernel_error("named barrier count disagreement", "must agree on its count", [&] {
        dk::launch(ex, "named_disagree", named_barrier_kernel<NamedBug::disagree>, dim3(1), dim3(96), 0, ap, op);
    });
    expect_kernel_error("named barrier short of a warp", "for 96 threads, of which 64 arrived", [&] {
        dk::launch(ex, "named_short", named_barrier_kernel<NamedBug::short_count>, dim3(1), dim3(96), 0, ap, op);
    });
    expect_kernel_error("named barrier 0", "named barriers are 1..15", [&] {
        dk::launch(ex, "named_zero", named_barrier_kernel<NamedBug::id_zero>, dim3(1), dim3(96), 0, ap, op);
    });
}

// setmaxnreg: the producer warpgroup lowers its budget, the consumer raises it; Split: the lanes of
// a warp disagree on the count.
template <bool Split>
__global__ void setmaxnreg_kernel(int* out) {
    if (threadIdx.x < 128) dk::setmaxnreg<false, 40>();
    else if (Split && threadIdx.x % 32 < 16) dk::setmaxnreg<true, 232>();
    else dk::setmaxnreg<true, 240>();
    out[threadIdx.x] = 1;
}

void check_setmaxnreg(const dk::Exec& ex) {
    std::vector<int> out(256, 0);
    dk::launch(ex, "setmaxnreg", setmaxnreg_kernel<false>, dim3(1), dim3(256), 0, out.data());
    expect(out[0] == 1 && out[255] == 1, "setmaxnreg by whole warpgroups");
    expect_kernel_error("setmaxnreg in a block of 96 threads", "whole warpgroups", [&] {
        dk::launch(ex, "setmaxnreg_96", setmaxnreg_kernel<false>, dim3(1), dim3(96), 0, out.data());
    });
    expect_kernel_error("setmaxnreg counts differing in a warp", "same collective", [&] {
        dk::launch(ex, "setmaxnreg_split", setmaxnreg_kernel<true>, dim3(1), dim3(256), 0, out.data());
    });
}

void check_mbarrier(const dk::Exec& ex) {
    constexpr int kTiles = 7;
    std::vector<float> a(kTiles * 64), out(kTiles * 64, 0.0f);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 97) - 40.0f;
    for (int schedule : {DK_EMU_FORWARD, DK_EMU_REVERSE, DK_EMU_RANDOM}) {
        const Scheduled e(ex, schedule);
        std::fill(out.begin(), out.end(), 0.0f);
        dk::launch(e, "mbarrier_ring", mbarrier_ring_kernel<RingBug::none>, dim3(2), dim3(96), 0,
                   static_cast<const float*>(a.data()), out.data(), kTiles);
        bool right = true;
        for (size_t i = 0; i < a.size(); ++i) right &= out[i] == 2.0f * a[i] + 1.0f;
        expect(right, "mbarrier ring (expect_tx / complete_tx / arrive, parity waits), schedule " + std::to_string(schedule));

        std::vector<int> el(2 + 64, 0);
        dk::launch(e, "elect", elect_kernel, dim3(1), dim3(64), 0, el.data());
        int once = 0;
        for (int w = 0; w < 2; ++w)
            for (int l = 0; l < 32; ++l) once += el[size_t(2 + 32 * w + l)];
        const int want = schedule == DK_EMU_FORWARD ? 1 : schedule == DK_EMU_REVERSE ? 32 : 0;
        expect(once == 2 && (want == 0 || (el[0] == want && el[1] == want)) && el[0] > 0 && el[1] > 0,
               "elect.sync: one lane per warp, lowest forward, highest reverse, schedule " + std::to_string(schedule));
    }
    std::vector<float> spun(32, 0.0f);
    dk::launch(ex, "mbarrier_spin", mbarrier_spin_kernel<false>, dim3(1), dim3(64), 0, spun.data());
    expect(spun[0] == 42.0f && spun[31] == 42.0f, "mbarrier try_wait spinning yields to the arriving thread");
    expect_kernel_error("try_wait spinning on a phase nobody completes", "no thread left to run completes", [&] {
        dk::launch(ex, "mbarrier_spin_stuck", mbarrier_spin_kernel<true>, dim3(1), dim3(64), 0, spun.data());
    });
    const float* ap = a.data();
    float* op = out.data();
    expect_kernel_error("expect_tx bytes that never complete", "0 of 1 arrivals and 4 transaction bytes outstanding", [&] {
        dk::launch(ex, "mbarrier_short_tx", mbarrier_ring_kernel<RingBug::short_tx>, dim3(1), dim3(96), 0, ap, op, kTiles);
    });
    expect_kernel_error("mbarrier used before init", "no mbarrier.init", [&] {
        dk::launch(ex, "mbarrier_no_init", mbarrier_ring_kernel<RingBug::no_init>, dim3(1), dim3(96), 0, ap, op, kTiles);
    });
    expect_kernel_error("plain store over a live mbarrier", "overwritten by a plain store", [&] {
        dk::launch(ex, "mbarrier_overwrite", mbarrier_ring_kernel<RingBug::overwrite>, dim3(1), dim3(96), 0, ap, op, kTiles);
    });
    expect_kernel_error("more arrivals than pending", "arrival(s) pending", [&] {
        dk::launch(ex, "mbarrier_over_arrive", mbarrier_ring_kernel<RingBug::over_arrive>, dim3(1), dim3(96), 0, ap, op,
                   kTiles);
    });
}

void run_dialect_checks() {
    const emu_checks::Hopper ex;

    check_ldmatrix<1, false>(ex);
    check_ldmatrix<2, false>(ex);
    check_ldmatrix<4, false>(ex);
    check_ldmatrix<1, true>(ex);
    check_ldmatrix<2, true>(ex);
    check_ldmatrix<4, true>(ex);
    check_to_tf32();
    check_mma_tf32(ex);
    check_atomic_add2(ex);
    check_mbarrier(ex);
    check_named_barriers(ex);
    check_setmaxnreg(ex);

    std::vector<int> w(100, 0);
    dk::launch(ex, "warp", warp_kernel, dim3(1), dim3(32), 0, w.data());
    expect(w[0] == int(0x49249249u) && w[1] == 1 && w[2] == 0 && w[3] == -1, "votes / __activemask");
    for (int l = 0; l < 32; ++l) {
        expect(w[size_t(4 + l)] == ((l & ~7) + 3) * 10, "__shfl_sync width 8, lane " + std::to_string(l));
        expect(w[size_t(36 + l)] == (l % 8 >= 2 ? l - 2 : l), "__shfl_up_sync width 8, lane " + std::to_string(l));
        expect(w[size_t(68 + l)] == (l % 8 < 6 ? l + 2 : l), "__shfl_down_sync width 8, lane " + std::to_string(l));
    }

    std::vector<int> b(5, 0);
    float fsum = 0.0f;
    dk::launch(ex, "block", block_kernel, dim3(1), dim3(64), 0, b.data(), &fsum);
    expect(b[0] == 16 && b[1] == 1 && b[2] == 1 && b[3] == 63 && b[4] == 42 && fsum == 32.0f,
           "__syncthreads_count/and/or and atomics");

    std::vector<float> src(32, 3.0f), out(64, 0.0f);
    dk::launch(ex, "cp_async", cp_async_kernel, dim3(1), dim3(32), 128, src.data(), out.data());
    bool stale = true, landed = true;
    for (int i = 0; i < 32; ++i) stale &= out[size_t(i)] != 3.0f, landed &= out[size_t(32 + i)] == 3.0f;
    expect(stale && landed, "cp.async lands at wait_group, not before");

    std::vector<float> zsrc(128, 5.0f), zout(160, -1.0f);
    dk::launch(ex, "cp_async_zfill", cp_async_zfill_kernel, dim3(1), dim3(32), 512, zsrc.data(), zout.data());
    bool zstale = true, zlanded = true;
    for (int t = 0; t < 32; ++t) {
        zstale &= zout[size_t(t)] != 5.0f && zout[size_t(t)] != 0.0f;
        for (int i = 0; i < 4; ++i) zlanded &= zout[size_t(32 + 4 * t + i)] == (t % 2 == 0 ? 5.0f : 0.0f);
    }
    expect(zstale && zlanded, "cp.async zero fill lands zeros at wait_group, copies the rest");

    expect_kernel_error("different barrier sites", "same barrier",
                        [&] { dk::launch(ex, "two_barriers", two_barriers_kernel, dim3(1), dim3(32), 0); });
    expect_kernel_error("mask disagreement", "same mask",
                        [&] { dk::launch(ex, "mask_mismatch", mask_mismatch_kernel, dim3(1), dim3(32), 0); });
    expect_kernel_error("block of 1025 threads", "1024",
                        [&] { dk::launch(ex, "big_block", empty_kernel, dim3(1), dim3(1025), 0); });
    // past 48 KB of dynamic shared memory only with the kernel's opt-in, which dk::launch makes
    expect_kernel_error("64 KB of dynamic shared memory without the opt-in", "opt-in", [&] {
        dk::emu::launch_grid(ex, "no_opt_in", opt_in_kernel, dim3(1), dim3(32), size_t(64 * 1024));
    });
    dk::launch(ex, "opt_in", opt_in_kernel, dim3(1), dim3(32), size_t(64 * 1024));
    expect(true, "64 KB of dynamic shared memory through dk::launch, which opts in");
    std::vector<float> o(32);
    expect_kernel_error("dynamic shared out of bounds", "out of bounds",
                        [&] { dk::launch(ex, "shared_oob", shared_oob_kernel, dim3(1), dim3(32), 128, o.data()); });

    std::vector<float> poison(64, 0.0f);
    dk::launch(ex, "static_poison", static_poison_kernel, dim3(2), dim3(32), 0, poison.data());
    bool poisoned = true;
    for (float v : poison) poisoned &= v != v;  // NaN: 0xff bytes
    expect(poisoned, "a static shared array reads as poison until written, in every block");
    expect_kernel_error("static shared out of bounds", "static shared memory access tile[",
                        [&] { dk::launch(ex, "static_oob", static_oob_kernel, dim3(1), dim3(32), 0, o.data()); });
    expect_kernel_error("static shared memory over 48 KB", "CUDA allows statically",
                        [&] { dk::launch(ex, "static_too_big", static_too_big_kernel, dim3(1), dim3(32), 0, o.data()); });
    dk::EmuOptions small = ex.options;
    small.shared_limit = 8192;
    dk::Exec small_ex = ex;
    small_ex.emu = &small;
    dk::launch(small_ex, "static_plus_dynamic", static_plus_dynamic_kernel, dim3(1), dim3(32), 4096, o.data());
    expect(o[0] == 2.0f, "4 KB static + 4 KB dynamic within an 8 KB limit");
    expect_kernel_error("static + dynamic over the limit", "exceeds the configured limit", [&] {
        dk::launch(small_ex, "static_plus_dynamic", static_plus_dynamic_kernel, dim3(1), dim3(32), 4097, o.data());
    });
    alignas(16) float packed[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    dk::launch(ex, "pack_load", pack_load_kernel, dim3(1), dim3(32), 0, static_cast<const float*>(packed), o.data());
    expect(o[0] == 1.0f, "an aligned 16-byte pack load");
    expect_kernel_error("misaligned 16-byte load", "misaligned address", [&] {
        dk::launch(ex, "pack_load", pack_load_kernel, dim3(1), dim3(32), 0, static_cast<const float*>(packed + 1),
                   o.data());
    });
}
