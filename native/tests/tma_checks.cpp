// tma_checks.cpp - TMA tiled loads and stores on the emulator (deepkern/tma.cuh) against this
// file's own reading of the layout: the box row after row in shared memory, dim 0 fastest; swizzled
// by span S, the 16-byte chunk index within each S-byte piece XORed with the index of the 128-byte
// line it lies in (mod S / 16), where the emulator works on address bits. Loads in 2, 3 and 5
// dimensions reaching outside the tensor (zeros there) and in every swizzle mode, a store skipping
// what lies outside, the map's rules on the host, and the strict failures.
#include <cstring>
#include <string>
#include <vector>

#include "deepkern/pipeline_sync.cuh"
#include "deepkern/portable.cuh"
#include "deepkern/tma.cuh"
#include "emu_checks.h"

namespace {

using emu_checks::expect;
using emu_checks::expect_kernel_error;

struct Coords {
    int v[5];
};

// The shared offset of the box's byte `at` (unswizzled, relative to a box at a pattern boundary).
__host__ __device__ inline uint32_t swizzled(uint32_t at, dk::TmaSwizzle s) {
    if (s == dk::TmaSwizzle::none) return at;
    const uint32_t span = 16u << uint32_t(s), line = at / 128, chunk = at % span / 16;
    return at / span * span + (chunk ^ (line % (span / 16))) * 16 + at % 16;
}

enum class LoadBug { none, read_early, extra_tx, misaligned };

template <int Rank, LoadBug Bug>
__global__ void tma_load_kernel(const DK_GRID_CONSTANT dk::TensorMap map, Coords c, uint32_t box_at, uint32_t bytes,
                                unsigned char* out, unsigned char* early) {
    DK_DYNAMIC_SHARED(unsigned char, sm);
    DK_SHARED(uint64_t, bar, [1]);
    if (threadIdx.x == 0) dk::mbarrier_init(&bar[0], 1);
    __syncthreads();
    if (threadIdx.x < 32 && dk::elect_one_sync()) {
        int cc[Rank];
        for (int d = 0; d < Rank; ++d) cc[d] = c.v[d];
        dk::mbarrier_arrive_expect_tx(&bar[0], bytes + (Bug == LoadBug::extra_tx ? 16 : 0));
        dk::tma_load<Rank>(&sm[box_at + (Bug == LoadBug::misaligned ? 128 : 0)], map, &bar[0], cc);
    }
    if (Bug == LoadBug::read_early)
        for (uint32_t i = threadIdx.x; i < bytes; i += blockDim.x) early[i] = sm[box_at + i];
    dk::mbarrier_wait_parity(&bar[0], 0);
    for (uint32_t i = threadIdx.x; i < bytes; i += blockDim.x) out[i] = sm[box_at + i];
}

// One load case: the global tensor's bytes and the box's expected shared bytes, from the map.
struct LoadCase {
    const char* name;
    dk::TmaTiled t;
    Coords c;
    uint32_t box_at;
};

std::vector<unsigned char> expected_box(const dk::TmaTiled& t, const Coords& c) {
    uint32_t n = 1;
    for (int d = 0; d < t.rank; ++d) n *= t.box[d];
    std::vector<unsigned char> box(size_t(n) * t.element_bytes, 0);
    const auto* g = static_cast<const unsigned char*>(t.global);
    for (uint32_t l = 0; l < n; ++l) {
        uint32_t rest = l;
        bool inside = true;
        size_t off = 0;
        for (int d = 0; d < t.rank; ++d) {
            const int64_t x = int64_t(c.v[d]) + rest % t.box[d];
            rest /= t.box[d];
            inside &= x >= 0 && uint64_t(x) < t.dims[d];
            off += size_t(x) * (d == 0 ? size_t(t.element_bytes) : size_t(t.strides[d - 1]));
        }
        for (int b = 0; b < t.element_bytes; ++b)
            box[swizzled(l * uint32_t(t.element_bytes) + uint32_t(b), t.swizzle)] = inside ? g[off + size_t(b)] : 0;
    }
    return box;
}

template <int Rank>
void check_load(const dk::Exec& ex, const LoadCase& lc) {
    const std::vector<unsigned char> want = expected_box(lc.t, lc.c);
    std::vector<unsigned char> out(want.size(), 0x55), early(want.size(), 0);
    const dk::TensorMap map = dk::make_tensor_map(lc.t);
    dk::launch(ex, lc.name, tma_load_kernel<Rank, LoadBug::none>, dim3(1), dim3(64), size_t(8192), map, lc.c, lc.box_at,
               uint32_t(want.size()), out.data(), early.data());
    expect(out == want, std::string(lc.name) + ": the box differs from the expected layout");
}

// The store: the block writes a 32 x 8 f16 box (64-byte swizzle) in shared memory and one thread
// stores it at (16, 15) of a 40 x 20 tensor: columns from 40 and rows from 20 lie outside.
enum class StoreBug { none, change_in_flight, no_proxy_fence };

template <StoreBug Bug>
__global__ void tma_store_kernel(const DK_GRID_CONSTANT dk::TensorMap map) {
    DK_DYNAMIC_SHARED(uint16_t, sm);
    for (uint32_t l = threadIdx.x; l < 32 * 8; l += blockDim.x) sm[swizzled(2 * l, dk::TmaSwizzle::b64) / 2] = uint16_t(1000 + l);
    if (Bug != StoreBug::no_proxy_fence) dk::fence_proxy_async();
    __syncthreads();
    if (threadIdx.x == 0) {
        dk::tma_store<2>(map, &sm[0], {16, 15});
        dk::tma_store_commit();
        if (Bug == StoreBug::change_in_flight) sm[3] = 7;
        dk::tma_store_wait<0>();
    }
}

}  // namespace

void run_tma_checks() {
    const emu_checks::Hopper ex;
    using dk::TmaSwizzle;

    alignas(16) static uint16_t m2[100 * 72];  // [100 rows][72 columns], rows 144 bytes apart
    alignas(16) static float m3[3 * 5 * 12];   // [3][5][12]
    alignas(16) static unsigned char m5[2 * 2 * 2 * 3 * 32];
    for (size_t i = 0; i < sizeof m2 / 2; ++i) m2[i] = uint16_t(i * 7 + 1);
    for (size_t i = 0; i < sizeof m3 / 4; ++i) m3[i] = float(i) + 0.5f;
    for (size_t i = 0; i < sizeof m5; ++i) m5[i] = (unsigned char)(i * 13 + 5);
    const dk::TmaTiled t2{2, 2, m2, {72, 100}, {144}, {64, 16}, TmaSwizzle::b128};
    check_load<2>(ex, {"tma 2-D 128B, outside in both dims", t2, {{32, 90}}, 1024});
    check_load<3>(ex, {"tma 3-D, negative coordinates", {3, 4, m3, {12, 5, 3}, {48, 240}, {4, 4, 2}, TmaSwizzle::none},
                       {{-2, 3, 1}}, 128});
    check_load<5>(ex, {"tma 5-D 32B", {5, 1, m5, {32, 3, 2, 2, 2}, {32, 96, 192, 384}, {16, 2, 2, 2, 2}, TmaSwizzle::b32},
                       {{24, 1, 0, 0, 0}}, 0});
    check_load<2>(ex, {"tma 2-D 64B", {2, 2, m2, {72, 100}, {144}, {32, 8}, TmaSwizzle::b64}, {{8, 3}}, 512});

    // the store
    alignas(16) static uint16_t s2[20 * 40];
    std::memset(s2, 0xaa, sizeof s2);
    const dk::TensorMap store_map = dk::make_tensor_map({2, 2, s2, {40, 20}, {80}, {32, 8}, TmaSwizzle::b64});
    dk::launch(ex, "tma_store", tma_store_kernel<StoreBug::none>, dim3(1), dim3(64), size_t(1024), store_map);
    bool stored = true;
    for (int r = 0; r < 20; ++r)
        for (int col = 0; col < 40; ++col) {
            const bool in_box = r >= 15 && col >= 16;
            const uint16_t want = in_box ? uint16_t(1000 + (r - 15) * 32 + (col - 16)) : uint16_t(0xaaaa);
            stored &= s2[r * 40 + col] == want;
        }
    expect(stored, "tma store: the box's elements inside the tensor written, nothing else");

    // the strict failures
    std::vector<unsigned char> out(2048), early(2048, 0);
    const dk::TensorMap map2 = dk::make_tensor_map(t2);
    dk::launch(ex, "tma_read_early", tma_load_kernel<2, LoadBug::read_early>, dim3(1), dim3(64), size_t(8192), map2,
               Coords{{0, 0}}, 1024u, 2048u, out.data(), early.data());
    bool poison = true;
    for (unsigned char b : early) poison &= b == 0xff;
    expect(poison, "tma load: the box reads as poison before the barrier's wait");
    unsigned char* o = out.data();
    unsigned char* e = early.data();
    expect_kernel_error("tma load whose expect_tx never completes", "16 transaction bytes outstanding", [&] {
        dk::launch(ex, "tma_extra_tx", tma_load_kernel<2, LoadBug::extra_tx>, dim3(1), dim3(64), size_t(8192), map2,
                   Coords{{0, 0}}, 1024u, 2048u, o, e);
    });
    expect_kernel_error("tma load to a box off its swizzle pattern", "1024-byte aligned", [&] {
        dk::launch(ex, "tma_misaligned", tma_load_kernel<2, LoadBug::misaligned>, dim3(1), dim3(64), size_t(8192), map2,
                   Coords{{0, 0}}, 1024u, 2048u, o, e);
    });
    dk::TensorMap garbage{};
    expect_kernel_error("tma load with a map not made by make_tensor_map", "not made by make_tensor_map", [&] {
        dk::launch(ex, "tma_garbage", tma_load_kernel<2, LoadBug::none>, dim3(1), dim3(64), size_t(8192), garbage,
                   Coords{{0, 0}}, 1024u, 2048u, o, e);
    });
    expect_kernel_error("tma store's shared memory changed in flight", "changed before the wait", [&] {
        dk::launch(ex, "tma_store_changed", tma_store_kernel<StoreBug::change_in_flight>, dim3(1), dim3(64), size_t(1024),
                   store_map);
    });
    expect_kernel_error("tma store of plain stores with no proxy fence", "no fence.proxy.async", [&] {
        dk::launch(ex, "tma_store_unfenced", tma_store_kernel<StoreBug::no_proxy_fence>, dim3(1), dim3(64), size_t(1024),
                   store_map);
    });

    // the map's rules, on the host
    auto refused = [&](const char* what, dk::TmaTiled t, const char* needle) {
        try {
            dk::make_tensor_map(t);
            expect(false, std::string(what) + ": accepted");
        } catch (const dk::Error& err) {
            expect(err.status == DK_ERROR_INVALID_ARGUMENT && std::string(err.what()).find(needle) != std::string::npos,
                   std::string(what) + ": " + err.what());
        }
    };
    refused("a 24-byte inner box", {2, 2, m2, {72, 100}, {144}, {12, 16}, TmaSwizzle::none}, "not a multiple of 16");
    refused("a 256-byte inner box under the 128B swizzle", {2, 2, m2, {72, 100}, {144}, {128, 16}, TmaSwizzle::b128},
            "exceeds the swizzle's 128");
    refused("a misaligned tensor", {2, 2, m2 + 1, {72, 100}, {144}, {64, 16}, TmaSwizzle::none}, "not 16-byte aligned");
    refused("a box of 300", {2, 2, m2, {72, 100}, {144}, {64, 300}, TmaSwizzle::none}, "outside [1, 256]");
    refused("a 40-byte stride", {2, 2, m2, {20, 100}, {40}, {16, 16}, TmaSwizzle::none}, "not a multiple of 16");
}
