// dialect_checks.cpp - emulated kernels built into the test, for what the self-tests do not reach:
// ldmatrix .x1/.x2/.x4 with and without .trans against the PTX layout, votes, shuffle widths,
// barrier predicates, atomics, cp.async wait semantics, and the strict checks that have no
// planted-bug self-test (barrier call sites, mask disagreement, block size, dynamic and static
// shared memory bounds, poison and limits, misaligned 16-byte accesses).
#include <cstdio>
#include <string>
#include <vector>

#include "deepkern/async_copy.cuh"
#include "deepkern/mma.cuh"
#include "deepkern/packs.cuh"
#include "deepkern/portable.cuh"

namespace {

int failures = 0;

void expect(bool cond, const std::string& what) {
    if (!cond) {
        std::fprintf(stderr, "FAIL dialect check: %s\n", what.c_str());
        ++failures;
    }
}

// Runs a launch that must fail with DK_ERROR_KERNEL and a message containing `needle`.
template <typename F>
void expect_kernel_error(const char* what, const char* needle, F&& launch) {
    try {
        launch();
        expect(false, std::string(what) + ": no error");
    } catch (const dk::Error& e) {
        expect(e.status == DK_ERROR_KERNEL && std::string(e.what()).find(needle) != std::string::npos &&
                   std::string(e.what()).find("block (") != std::string::npos,
               std::string(what) + ": " + e.what());
    }
}

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

__global__ void empty_kernel() {}

// Touches the last byte of 64 KB of dynamic shared memory.
__global__ void opt_in_kernel() {
    DK_DYNAMIC_SHARED(float, smem);
    smem[64 * 1024 / 4 - 1 - threadIdx.x] = 1.0f;
}

}  // namespace

int run_dialect_checks() {
    dk::EmuOptions options;
    dk::Exec ex;
    ex.emu = &options;

    check_ldmatrix<1, false>(ex);
    check_ldmatrix<2, false>(ex);
    check_ldmatrix<4, false>(ex);
    check_ldmatrix<1, true>(ex);
    check_ldmatrix<2, true>(ex);
    check_ldmatrix<4, true>(ex);

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
    dk::EmuOptions small = options;
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
    return failures;
}
