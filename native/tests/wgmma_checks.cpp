// wgmma_checks.cpp - wgmma.mma_async on the emulator (deepkern/wgmma.cuh) against a double
// reference. The operand tiles are placed in shared memory by this file's own reading of the PTX
// ISA's canonical layouts - the swizzle as "the 16-byte chunk index within a row XOR the index of
// the 128-byte line the row starts in, within its atom", where the emulator works on address bits -
// in every swizzle mode and both majors, A from registers too, with products chained over K by
// advancing the descriptors; TMA feeding wgmma in one block; then the strict failures (the proxy
// fence and a descriptor swizzle not matching TMA's among them).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "deepkern/pipeline_sync.cuh"
#include "deepkern/portable.cuh"
#include "deepkern/tma.cuh"
#include "deepkern/wgmma.cuh"
#include "emu_checks.h"

namespace {

using emu_checks::expect;
using emu_checks::expect_kernel_error;
using emu_checks::Scheduled;

enum class Major { K, MN };

// One operand's placement: its major order, swizzle (row bytes W: 0 = none), leading and stride
// byte offsets, where it starts, and how far its descriptor advances per k16 step.
struct Placement {
    Major major;
    dk::WgmmaSwizzle swizzle;
    uint32_t lbo, sbo, at;

    int width() const {
        switch (swizzle) {
            case dk::WgmmaSwizzle::b128: return 128;
            case dk::WgmmaSwizzle::b64: return 64;
            case dk::WgmmaSwizzle::b32: return 32;
            default: return 0;
        }
    }
    // byte offset of element (row, k); row: M for A, N for B
    uint32_t offset(int row, int k) const {
        const int w = width();
        if (w == 0)  // 8 x 16-byte core matrices
            return major == Major::K ? at + (row / 8) * sbo + (k / 8) * lbo + (row % 8) * 16 + (k % 8) * 2
                                     : at + (row / 8) * sbo + (k / 8) * lbo + (k % 8) * 16 + (row % 8) * 2;
        // an atom: 8 rows of w bytes (K-major: rows are M/N, MN-major: rows are k)
        const int line_row = major == Major::K ? row % 8 : k % 8;
        const int in_row = major == Major::K ? 2 * k : 2 * (row % (w / 2));
        const uint32_t atom = major == Major::K ? (row / 8) * sbo : (row / (w / 2)) * lbo + (k / 8) * sbo;
        const int line = line_row * w / 128, chunk = (in_row / 16) ^ (line % (w / 16));
        return at + atom + line_row * w + chunk * 16 + in_row % 16;
    }
    uint32_t k_step() const {  // bytes the start moves per 16 of K
        if (major == Major::K) return width() ? 32 : 2 * lbo;
        return width() ? 2 * sbo : 2 * lbo;
    }
};

constexpr int kImage = 24 * 1024;  // the shared-memory image every case fits in

struct Case {
    const char* name;
    bool bf16, reg_a, accumulate;
    int n, k;
    Placement a, b;
};

uint16_t to_bits(float f, bool bf16) { return bf16 ? dk::float_to_bf16_bits(f) : dk::float_to_half_bits(f); }
float from_bits(uint16_t b, bool bf16) { return bf16 ? dk::bf16_bits_to_float(b) : dk::half_bits_to_float(b); }

struct Args {
    const unsigned char* image;
    const uint16_t* a_rows;  // A [64][K] row-major bits, for the register form
    const float* d0;         // D [64][N] row-major, added when accumulating
    float* out;              // D [64][N]
    uint64_t desc_a, desc_b; // relative to the image's start: start addresses as offsets
    uint32_t step_a, step_b;
    int ksteps;
};

// d[i] of lane 4 g + t in warp w: D[16 w + g + 8 ((i % 4) / 2)][8 (i / 4) + 2 t + i % 2]
__host__ __device__ inline int d_row(int i) { return int(threadIdx.x / 32) * 16 + int(threadIdx.x % 32) / 4 + 8 * ((i % 4) / 2); }
__host__ __device__ inline int d_col(int i) { return 8 * (i / 4) + 2 * int(threadIdx.x % 4) + i % 2; }

template <typename T, int N, bool RegA, bool TransA, bool TransB>
__global__ void wgmma_kernel(Args p) {
    DK_DYNAMIC_SHARED(unsigned char, sm);
    for (int i = threadIdx.x; i < kImage; i += blockDim.x) sm[i] = p.image[i];
    dk::fence_proxy_async();  // the plain stores, before wgmma reads them
    __syncthreads();
    const uint64_t base = dk::wgmma_descriptor(&sm[0], dk::WgmmaSwizzle::none, 0, 0);  // the image's start, >> 4
    float d[N / 2];
    for (int i = 0; i < N / 2; ++i) d[i] = p.d0 ? p.d0[d_row(i) * N + d_col(i)] : 0.0f;
    dk::wgmma_fence();
    for (int s = 0; s < p.ksteps; ++s) {
        const uint64_t a = p.desc_a + base + s * (p.step_a >> 4), b = p.desc_b + base + s * (p.step_b >> 4);
        const bool acc = s > 0 || p.d0;
        if constexpr (RegA) {
            uint32_t af[4];  // mma.m16n8k16's A fragment of the warp's rows
            const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4, r0 = int(threadIdx.x / 32) * 16;
            const int k0 = 16 * s;
            for (int r = 0; r < 4; ++r) {
                const int m = r0 + g + 8 * (r & 1), k = k0 + 2 * t + 8 * (r >> 1);
                af[r] = p.a_rows[m * 16 * p.ksteps + k] | uint32_t(p.a_rows[m * 16 * p.ksteps + k + 1]) << 16;
            }
            dk::wgmma_rs<T, N, TransB>(d, af, b, acc);
        } else {
            dk::wgmma_ss<T, N, TransA, TransB>(d, a, b, acc);
        }
    }
    dk::wgmma_commit_group();
    dk::wgmma_wait_group<0>();
    for (int i = 0; i < N / 2; ++i) p.out[d_row(i) * N + d_col(i)] = d[i];
}

uint64_t descriptor(const Placement& o) {  // relative: the kernel adds the image's start
    return uint64_t(o.at >> 4) | uint64_t(o.lbo >> 4) << 16 | uint64_t(o.sbo >> 4) << 32 | uint64_t(o.swizzle) << 62;
}

template <typename T, int N, bool RegA, bool TransA, bool TransB>
void run_case(const dk::Exec& ex, const Case& c) {
    const int K = c.k, M = 64;
    std::vector<unsigned char> image(kImage, 0);
    std::vector<uint16_t> a(size_t(M) * K), b(size_t(K) * N);
    std::vector<float> d0(size_t(M) * N), out(size_t(M) * N, -1.0f);
    unsigned seed = 12345;
    auto next = [&] { seed = seed * 1664525u + 1013904223u; return float(int(seed >> 20) % 17 - 8) / 4.0f; };
    auto put = [&](uint32_t at, uint16_t v) { std::memcpy(&image[at], &v, 2); };
    for (int m = 0; m < M; ++m)
        for (int k = 0; k < K; ++k) {
            a[size_t(m) * K + k] = to_bits(next(), c.bf16);
            if (!c.reg_a) put(c.a.offset(m, k), a[size_t(m) * K + k]);
        }
    for (int k = 0; k < K; ++k)
        for (int n = 0; n < N; ++n) {
            b[size_t(k) * N + n] = to_bits(next(), c.bf16);
            put(c.b.offset(n, k), b[size_t(k) * N + n]);
        }
    for (float& v : d0) v = next();
    Args p{image.data(), a.data(), c.accumulate ? d0.data() : nullptr, out.data(), descriptor(c.a), descriptor(c.b),
           c.a.k_step(), c.b.k_step(), K / 16};
    dk::launch(ex, c.name, wgmma_kernel<T, N, RegA, TransA, TransB>, dim3(1), dim3(128), size_t(kImage), p);
    int bad = 0;
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            double want = c.accumulate ? d0[size_t(m) * N + n] : 0.0, scale = std::fabs(want);
            for (int k = 0; k < K; ++k) {
                const double t = double(from_bits(a[size_t(m) * K + k], c.bf16)) * from_bits(b[size_t(k) * N + n], c.bf16);
                want += t;
                scale += std::fabs(t);
            }
            if (!(std::fabs(out[size_t(m) * N + n] - want) <= 1e-6 * scale)) ++bad;
        }
    expect(bad == 0, std::string(c.name) + ": " + std::to_string(bad) + " of " + std::to_string(M * N) +
                         " outputs differ from the double reference");
}

// The strict failures, on one 64 x 8 product with K-major tiles without swizzle.
enum class Bug { none, no_fence, smem_changed, d_written, read_early, static_tile, past_end, no_proxy_fence };

template <Bug B>
__global__ void wgmma_bug_kernel(float* out) {
    DK_DYNAMIC_SHARED(uint16_t, sm);  // A [64][16] at 0, B [8][16] at 2048 bytes, as core matrices
    DK_SHARED(uint16_t, elsewhere, [1024]);
    for (int i = threadIdx.x; i < 1024 + 128; i += blockDim.x) sm[i] = dk::float_to_bf16_bits(1.0f);
    elsewhere[threadIdx.x] = 0;
    if (B != Bug::no_proxy_fence) dk::fence_proxy_async();
    __syncthreads();
    const uint64_t a = dk::wgmma_descriptor(B == Bug::static_tile ? &elsewhere[0] : &sm[B == Bug::past_end ? 1088 : 0],
                                            dk::WgmmaSwizzle::none, 128, 256);
    const uint64_t b = dk::wgmma_descriptor(&sm[1024], dk::WgmmaSwizzle::none, 128, 256);
    float d[4] = {0, 0, 0, 0};
    if (B != Bug::no_fence) dk::wgmma_fence();
    dk::wgmma_ss<dk::bf16, 8, false, false>(d, a, b, false);
    dk::wgmma_commit_group();
    if (B == Bug::smem_changed && threadIdx.x == 5) sm[3] = 0;
    if (B == Bug::d_written) d[1] = 2.0f;
    if (B == Bug::read_early) out[threadIdx.x] = d[0];
    dk::wgmma_wait_group<0>();
    if (B != Bug::read_early) out[threadIdx.x] = d[0];
}

// The Hopper pipeline in one block: TMA loads A [64 m][64 k] and B [64 n][64 k] (bf16, 128-byte
// swizzle) completing on an mbarrier, then four chained wgmma k-steps read them through K-major
// 128B descriptors. Mismatch: B's descriptor claims the 64-byte swizzle.
template <bool Mismatch>
__global__ void tma_wgmma_kernel(const DK_GRID_CONSTANT dk::TensorMap a_map, const DK_GRID_CONSTANT dk::TensorMap b_map,
                                 float* out) {
    DK_DYNAMIC_SHARED(unsigned char, sm);  // A at 0, B at 8192
    DK_SHARED(uint64_t, bar, [1]);
    if (threadIdx.x == 0) dk::mbarrier_init(&bar[0], 1);
    __syncthreads();
    if (threadIdx.x < 32 && dk::elect_one_sync()) {
        dk::mbarrier_arrive_expect_tx(&bar[0], 2 * 64 * 64 * 2);
        dk::tma_load<2>(&sm[0], a_map, &bar[0], {0, 0});
        dk::tma_load<2>(&sm[8192], b_map, &bar[0], {0, 0});
    }
    dk::mbarrier_wait_parity(&bar[0], 0);
    const uint64_t a = dk::wgmma_descriptor(&sm[0], dk::WgmmaSwizzle::b128, 16, 1024);
    const uint64_t b = dk::wgmma_descriptor(&sm[8192], Mismatch ? dk::WgmmaSwizzle::b64 : dk::WgmmaSwizzle::b128, 16,
                                            1024);
    float d[32];
    dk::wgmma_fence();
    for (int s = 0; s < 4; ++s) dk::wgmma_ss<dk::bf16, 64, false, false>(d, a + 2 * s, b + 2 * s, s > 0);
    dk::wgmma_commit_group();
    dk::wgmma_wait_group<0>();
    for (int i = 0; i < 32; ++i) out[d_row(i) * 64 + d_col(i)] = d[i];
}

void check_tma_wgmma(const dk::Exec& ex) {
    alignas(16) static uint16_t a[64 * 64], bt[64 * 64];  // A [m][k], B^T [n][k]
    for (int i = 0; i < 64 * 64; ++i) {
        a[i] = dk::float_to_bf16_bits(float(i % 13) - 6.0f);
        bt[i] = dk::float_to_bf16_bits(float(i % 7) * 0.5f - 1.5f);
    }
    const dk::TensorMap a_map = dk::make_tensor_map({2, 2, a, {64, 64}, {128}, {64, 64}, dk::TmaSwizzle::b128});
    const dk::TensorMap b_map = dk::make_tensor_map({2, 2, bt, {64, 64}, {128}, {64, 64}, dk::TmaSwizzle::b128});
    std::vector<float> out(64 * 64, -1.0f);
    dk::launch(ex, "tma_wgmma", tma_wgmma_kernel<false>, dim3(1), dim3(128), size_t(16384), a_map, b_map, out.data());
    int bad = 0;
    for (int m = 0; m < 64; ++m)
        for (int n = 0; n < 64; ++n) {
            double want = 0.0;
            for (int k = 0; k < 64; ++k)
                want += double(dk::bf16_bits_to_float(a[m * 64 + k])) * dk::bf16_bits_to_float(bt[n * 64 + k]);
            bad += !(std::fabs(out[size_t(m) * 64 + n] - want) <= 1e-6 * (std::fabs(want) + 1.0));
        }
    expect(bad == 0, "TMA (128B swizzle) feeding wgmma: " + std::to_string(bad) + " of 4096 outputs wrong");
    float* o = out.data();
    expect_kernel_error("wgmma descriptor swizzle not matching TMA's", "does not match the data's layout", [&] {
        dk::launch(ex, "tma_wgmma_mismatch", tma_wgmma_kernel<true>, dim3(1), dim3(128), size_t(16384), a_map, b_map, o);
    });
}

// A producer / consumer pipeline as the Hopper kernels run it: warpgroup 0's elected thread loads
// A [64 x 64] and B^T [64 x 64] per K step by TMA into 2 stages that 4 K steps cycle through;
// warpgroup 1 waits on a stage's `full` barrier, issues its four wgmma k16 products, and releases
// the stage on `empty` once a later wait_group says they are done. ReleaseEarly releases it before
// that wait: the refill may land while the products still read the stage, which the REVERSE
// schedule shows (arrivals that complete a phase yield to the waiters, TMA lands at issue).
template <bool ReleaseEarly>
__global__ void pipeline_kernel(const DK_GRID_CONSTANT dk::TensorMap a_map, const DK_GRID_CONSTANT dk::TensorMap b_map,
                                float* out) {
    constexpr int kStages = 2, kSteps = 4, kStage = 16384;
    DK_DYNAMIC_SHARED(unsigned char, sm);  // stage s: A at s kStage, B^T 8192 after it
    DK_SHARED(uint64_t, full, [kStages]);
    DK_SHARED(uint64_t, empty, [kStages]);
    if (threadIdx.x == 0)
        for (int s = 0; s < kStages; ++s) {
            dk::mbarrier_init(&full[s], 1);
            dk::mbarrier_init(&empty[s], 4);
        }
    __syncthreads();
    if (threadIdx.x < 128) {
        if (threadIdx.x < 32 && dk::elect_one_sync())
            for (int k = 0; k < kSteps; ++k) {
                const int s = k % kStages;
                dk::mbarrier_wait_parity(&empty[s], (k / kStages + 1) & 1);
                dk::mbarrier_arrive_expect_tx(&full[s], kStage);
                dk::tma_load<2>(&sm[s * kStage], a_map, &full[s], {64 * k, 0});
                dk::tma_load<2>(&sm[s * kStage + 8192], b_map, &full[s], {64 * k, 0});
            }
        return;
    }
    float d[32];
    const auto release = [&](int s) {
        __syncwarp();
        if (threadIdx.x % 32 == 0) dk::mbarrier_arrive(&empty[s]);
    };
    for (int k = 0; k < kSteps; ++k) {
        const int s = k % kStages;
        dk::mbarrier_wait_parity(&full[s], (k / kStages) & 1);
        const uint64_t a = dk::wgmma_descriptor(&sm[s * kStage], dk::WgmmaSwizzle::b128, 16, 1024);
        const uint64_t b = dk::wgmma_descriptor(&sm[s * kStage + 8192], dk::WgmmaSwizzle::b128, 16, 1024);
        dk::wgmma_fence();
        for (int j = 0; j < 4; ++j) dk::wgmma_ss<dk::bf16, 64, false, false>(d, a + 2 * j, b + 2 * j, k > 0 || j > 0);
        dk::wgmma_commit_group();
        if (ReleaseEarly && k > 0) release((k - 1) % kStages);
        dk::wgmma_wait_group<1>();
        if (!ReleaseEarly && k > 0) release((k - 1) % kStages);
    }
    dk::wgmma_wait_group<0>();
    for (int i = 0; i < 32; ++i) out[(int(threadIdx.x - 128) / 32 * 16 + int(threadIdx.x % 32) / 4 + 8 * ((i % 4) / 2)) * 64 +
                                    8 * (i / 4) + 2 * int(threadIdx.x % 4) + i % 2] = d[i];
}

void check_pipeline(const dk::Exec& ex) {
    constexpr int K = 256;
    alignas(16) static uint16_t a[64 * K], bt[64 * K];  // A [m][k], B^T [n][k]
    for (int i = 0; i < 64 * K; ++i) {
        a[i] = dk::float_to_bf16_bits(float(i % 11) - 5.0f);
        bt[i] = dk::float_to_bf16_bits(float(i % 5) * 0.5f - 1.0f);
    }
    const dk::TensorMap a_map = dk::make_tensor_map({2, 2, a, {K, 64}, {2 * K}, {64, 64}, dk::TmaSwizzle::b128});
    const dk::TensorMap b_map = dk::make_tensor_map({2, 2, bt, {K, 64}, {2 * K}, {64, 64}, dk::TmaSwizzle::b128});
    std::vector<float> out(64 * 64);
    for (int schedule : {DK_EMU_FORWARD, DK_EMU_REVERSE, DK_EMU_RANDOM}) {
        Scheduled on(ex, schedule);
        std::fill(out.begin(), out.end(), -1.0f);
        dk::launch(on, "wgmma_pipeline", pipeline_kernel<false>, dim3(1), dim3(256), size_t(32768), a_map, b_map,
                   out.data());
        int bad = 0;
        for (int m = 0; m < 64; ++m)
            for (int n = 0; n < 64; ++n) {
                double want = 0.0;
                for (int k = 0; k < K; ++k)
                    want += double(dk::bf16_bits_to_float(a[m * K + k])) * dk::bf16_bits_to_float(bt[n * K + k]);
                bad += !(std::fabs(out[size_t(m) * 64 + n] - want) <= 1e-6 * (std::fabs(want) + 1.0));
            }
        expect(bad == 0, "TMA / wgmma pipeline, schedule " + std::to_string(schedule) + ": " + std::to_string(bad) +
                             " of 4096 outputs wrong");
    }
    Scheduled reverse(ex, DK_EMU_REVERSE);
    float* o = out.data();
    expect_kernel_error("a stage released before its wgmma wait", "changed before its wait", [&] {
        dk::launch(reverse, "wgmma_pipeline_early", pipeline_kernel<true>, dim3(1), dim3(256), size_t(32768), a_map,
                   b_map, o);
    });
}

}  // namespace

void run_wgmma_checks() {
    const emu_checks::Hopper ex;
    using dk::WgmmaSwizzle;
    // K-major 128B: rows of 128 bytes in atoms of 8 (SBO 1024), K = 64 in four steps of 32 bytes
    run_case<dk::bf16, 64, false, false, false>(
        ex, {"wgmma K-major 128B x K-major 128B, N 64, K 64", true, false, false, 64, 64,
             {Major::K, WgmmaSwizzle::b128, 16, 1024, 0}, {Major::K, WgmmaSwizzle::b128, 16, 1024, 8192}});
    // MN-major 64B A (32 m x 8 k atoms: LBO 512 along M, SBO 1024 along K) x K-major core matrices
    run_case<dk::f16, 24, false, true, false>(
        ex, {"wgmma MN-major 64B x K-major interleaved, N 24, K 32", false, false, true, 24, 32,
             {Major::MN, WgmmaSwizzle::b64, 512, 1024, 0}, {Major::K, WgmmaSwizzle::none, 128, 512, 4096}});
    // MN-major interleaved A (SBO 128 along M, LBO 1024 along K) x MN-major 128B B (SBO 1024 along K)
    run_case<dk::f16, 64, false, true, true>(
        ex, {"wgmma MN-major interleaved x MN-major 128B, N 64, K 16", false, false, false, 64, 16,
             {Major::MN, WgmmaSwizzle::none, 1024, 128, 0}, {Major::MN, WgmmaSwizzle::b128, 4096, 1024, 4096}});
    // K-major 32B x K-major 64B
    run_case<dk::bf16, 32, false, false, false>(
        ex, {"wgmma K-major 32B x K-major 64B, N 32, K 16", true, false, true, 32, 16,
             {Major::K, WgmmaSwizzle::b32, 16, 256, 0}, {Major::K, WgmmaSwizzle::b64, 16, 512, 2048}});
    // A from registers x MN-major 32B B (16 n x 8 k atoms), accumulating onto D
    run_case<dk::bf16, 16, true, false, true>(
        ex, {"wgmma A in registers x MN-major 32B, N 16, K 32", true, true, true, 16, 32,
             {Major::K, WgmmaSwizzle::none, 0, 0, 0}, {Major::MN, WgmmaSwizzle::b32, 256, 256, 0}});

    check_tma_wgmma(ex);
    check_pipeline(ex);

    std::vector<float> out(128, 0.0f);
    dk::launch(ex, "wgmma", wgmma_bug_kernel<Bug::none>, dim3(1), dim3(128), 4096, out.data());
    expect(out[0] == 16.0f && out[127] == 16.0f, "wgmma: 16 ones times 16 ones");
    dk::launch(ex, "wgmma_read_early", wgmma_bug_kernel<Bug::read_early>, dim3(1), dim3(128), 4096, out.data());
    expect(std::isnan(out[0]) && std::isnan(out[127]), "wgmma: accumulators read before the wait are poisoned");
    float* o = out.data();
    expect_kernel_error("wgmma without a fence", "without a wgmma.fence", [&] {
        dk::launch(ex, "wgmma_no_fence", wgmma_bug_kernel<Bug::no_fence>, dim3(1), dim3(128), 4096, o);
    });
    expect_kernel_error("wgmma operand changed in flight", "changed before its wait", [&] {
        dk::launch(ex, "wgmma_smem_changed", wgmma_bug_kernel<Bug::smem_changed>, dim3(1), dim3(128), 4096, o);
    });
    expect_kernel_error("wgmma accumulator written in flight", "written while", [&] {
        dk::launch(ex, "wgmma_d_written", wgmma_bug_kernel<Bug::d_written>, dim3(1), dim3(128), 4096, o);
    });
    expect_kernel_error("wgmma tile outside dynamic shared memory", "dynamic shared memory", [&] {
        dk::launch(ex, "wgmma_static_tile", wgmma_bug_kernel<Bug::static_tile>, dim3(1), dim3(128), 4096, o);
    });
    expect_kernel_error("wgmma reading past dynamic shared memory", "past the block's", [&] {
        dk::launch(ex, "wgmma_past_end", wgmma_bug_kernel<Bug::past_end>, dim3(1), dim3(128), 4096, o);
    });
    expect_kernel_error("wgmma reading plain stores with no proxy fence", "no fence.proxy.async", [&] {
        dk::launch(ex, "wgmma_no_proxy_fence", wgmma_bug_kernel<Bug::no_proxy_fence>, dim3(1), dim3(128), 4096, o);
    });
    expect_kernel_error("wgmma in a block of 96 threads", "whole warpgroups", [&] {
        dk::launch(ex, "wgmma_96", wgmma_bug_kernel<Bug::none>, dim3(1), dim3(96), 4096, o);
    });
    dk::EmuOptions ampere;  // the default emulated GPU, sm_86, refuses it as the GPU would
    dk::Exec on_ampere = ex;
    on_ampere.emu = &ampere;
    expect_kernel_error("wgmma on an emulated sm_86", "is an sm_90 instruction", [&] {
        dk::launch(on_ampere, "wgmma_sm86", wgmma_bug_kernel<Bug::none>, dim3(1), dim3(128), 4096, o);
    });
}
