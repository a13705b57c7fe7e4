// wgmma.cpp - wgmma.mma_async on the emulator (emu/wgmma.h says what is checked).
//
// Operand layouts, from the PTX ISA's shared-memory matrix descriptor and canonical layouts (in
// bytes; T = 8 elements per 16 bytes; `row` is M for A, N for B):
//   K-major,  no swizzle: start + (row % 8) 16 + (row / 8) SBO + (k % 8) 2 + (k / 8) LBO
//   K-major,  W-byte swizzle (W = 32, 64, 128): start + (row % 8) W + (row / 8) SBO + 2 k
//   MN-major, no swizzle: start + (row % 8) 2 + (row / 8) SBO + (k % 8) 16 + (k / 8) LBO
//   MN-major, W-byte swizzle: start + (row % (W / 2)) 2 + (row / (W / 2)) LBO + (k % 8) W + (k / 8) SBO
// then, swizzled, bits 4.. of the address XORed with its bits 7.. (1, 2 or 3 bits for W = 32, 64,
// 128). Accumulators: lane 4g + t of warp w holds d[i] = D[16 w + g + 8 ((i % 4) / 2)][8 (i / 4) + 2 t
// + i % 2]; A's registers are mma.m16n8k16's A fragment of the warp's 16 rows.
#include "deepkern/emu/wgmma.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "deepkern/emu/runtime.h"
#include "deepkern/emu/shared.h"
#include "deepkern/numeric.cuh"

namespace dk::emu::rt {
namespace {

constexpr uint32_t kPoisonBits = 0x7fbadbadu;  // a NaN no arithmetic produces

// What a warp's product read from shared memory, to compare at its wait.
struct Read {
    std::vector<uint32_t> offsets;
    std::vector<uint16_t> bits;
};

struct Pending {
    float* d;
    int count;
    std::vector<float> value;
    std::shared_ptr<Read> read;  // shared by the warp's lanes
};

struct LaneState {
    bool fenced = false;
    std::vector<Pending> open;
    std::vector<std::vector<Pending>> committed;
};

int thread_linear() { return int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }

LaneState& lane_state() { return thread_state<LaneState>(); }

uint32_t field(uint64_t desc, int at) { return uint32_t(desc >> at & 0x3fffu) << 4; }

// The byte offset in dynamic shared memory of element (row, k) of the operand desc describes.
uint32_t element_offset(uint64_t desc, bool mn_major, int row, int k) {
    const uint32_t start = field(desc, 0), lbo = field(desc, 16), sbo = field(desc, 32);
    const int mode = int(desc >> 62);                  // 0 none, 1 128B, 2 64B, 3 32B
    const int bits = mode == 0 ? 0 : 4 - mode;          // swizzled address bits
    const uint32_t width = mode == 0 ? 16 : 16u << bits;  // bytes per swizzled row
    uint32_t a;
    if (!mn_major)
        a = mode == 0 ? start + (row % 8) * 16 + (row / 8) * sbo + (k % 8) * 2 + (k / 8) * lbo
                      : start + (row % 8) * width + (row / 8) * sbo + 2 * k;
    else if (mode == 0)
        a = start + (row % 8) * 2 + (row / 8) * sbo + (k % 8) * 16 + (k / 8) * lbo;
    else
        a = start + (row % (width / 2)) * 2 + (row / (width / 2)) * lbo + (k % 8) * width + (k / 8) * sbo;
    return a ^ ((a >> 3) & (((1u << bits) - 1) << 4));
}

uint16_t read_element(uint32_t offset, const char* operand, uint64_t desc) {
    const DynamicShared& s = dynamic_shared;
    if (offset % 2 != 0 || size_t(offset) + 2 > s.bytes)
        kernel_error(std::string("wgmma.mma_async: operand ") + operand + " reads dynamic shared offset " +
                     std::to_string(offset) + ", past the block's " + std::to_string(s.bytes) + " bytes");
    const int mode = int(desc >> 62);  // 0 none, 1 128B, 2 64B, 3 32B
    async_proxy_read(offset, 2, operand[0] == 'a' ? "wgmma.mma_async (operand a)" : "wgmma.mma_async (operand b)",
                     mode == 0 ? 0 : 256 >> mode);
    uint16_t v;
    std::memcpy(&v, s.base + offset, 2);
    return v;
}

float widen16(uint16_t bits, bool bf16) { return bf16 ? bf16_bits_to_float(bits) : half_bits_to_float(bits); }

struct Slot {
    const WgmmaIssue* op;
    std::vector<float> in;   // this lane's D input (pending values chained on, or its registers)
    std::vector<float>* out; // its results
    std::shared_ptr<Read>* read;
};

void complete(void* const* slots, unsigned) {
    const WgmmaIssue& op = *static_cast<Slot*>(slots[0])->op;
    for (int lane = 1; lane < 32; ++lane) {
        const WgmmaIssue& o = *static_cast<Slot*>(slots[lane])->op;
        if (o.n != op.n || o.bf16 != op.bf16 || (o.a == nullptr) != (op.a == nullptr) || o.desc_b != op.desc_b ||
            (!op.a && o.desc_a != op.desc_a) || o.trans_a != op.trans_a || o.trans_b != op.trans_b ||
            o.accumulate != op.accumulate)
            kernel_error("wgmma.mma_async: lane " + std::to_string(lane) +
                         " gives other operands (shape, type, descriptors, transposes or scale-d) than lane 0");
    }
    const int warp = thread_linear() / 32 % 4, n = op.n;
    auto read = std::make_shared<Read>();
    auto fetch = [&](uint64_t desc, bool mn_major, int row, int k, const char* operand) {
        const uint32_t at = element_offset(desc, mn_major, row, k);
        const uint16_t bits = read_element(at, operand, desc);
        read->offsets.push_back(at);
        read->bits.push_back(bits);
        return widen16(bits, op.bf16);
    };
    float A[16][16];
    for (int m = 0; m < 16; ++m)
        for (int k = 0; k < 16; ++k) {
            if (op.a) {  // the fragment register of lane 4 g + t holding (m, k)
                const auto& s = *static_cast<Slot*>(slots[4 * (m % 8) + (k % 8) / 2]);
                const uint32_t reg = s.op->a[m / 8 + 2 * (k / 8)];
                A[m][k] = widen16(uint16_t(k % 2 ? reg >> 16 : reg & 0xffffu), op.bf16);
            } else {
                A[m][k] = fetch(op.desc_a, op.trans_a, 16 * warp + m, k, "a");
            }
        }
    std::vector<float> B(size_t(16) * n);
    for (int k = 0; k < 16; ++k)
        for (int c = 0; c < n; ++c) B[size_t(k) * n + c] = fetch(op.desc_b, op.trans_b, c, k, "b");
    for (int lane = 0; lane < 32; ++lane) {
        Slot& s = *static_cast<Slot*>(slots[lane]);
        const int g = lane >> 2, t = lane & 3;
        s.out->resize(size_t(n / 2));
        for (int i = 0; i < n / 2; ++i) {
            const int m = g + 8 * ((i % 4) / 2), c = 8 * (i / 4) + 2 * t + i % 2;
            float acc = op.accumulate ? s.in[size_t(i)] : 0.0f;
            for (int k = 0; k < 16; ++k) acc = fmaf(A[m][k], B[size_t(k) * n + c], acc);
            (*s.out)[size_t(i)] = acc;
        }
        *s.read = read;
    }
}

// The value this thread's accumulators d[0 .. count) have for a new product: the newest pending
// product's on the same registers (chained), else the registers.
std::vector<float> accumulators(LaneState& st, float* d, int count) {
    for (auto it = st.open.rbegin(); it != st.open.rend(); ++it)
        if (it->d == d) return it->value;
    for (auto g = st.committed.rbegin(); g != st.committed.rend(); ++g)
        for (auto it = g->rbegin(); it != g->rend(); ++it)
            if (it->d == d) return it->value;
    return std::vector<float>(d, d + count);
}

// Whether a product issued after those of `group` (the oldest committed one) still targets d.
bool pending_later(const LaneState& st, const float* d) {
    for (size_t g = 1; g < st.committed.size(); ++g)
        for (const Pending& p : st.committed[g])
            if (p.d == d) return true;
    for (const Pending& p : st.open)
        if (p.d == d) return true;
    return false;
}

// Lands the oldest committed group: its accumulators, unless a later product chained on them is
// still in flight (they stay poisoned until that one lands).
void retire(LaneState& st) {
    std::vector<Pending>& group = st.committed.front();
    for (Pending& p : group) {
        for (int i = 0; i < p.count; ++i) {
            uint32_t bits;
            std::memcpy(&bits, &p.d[i], 4);
            if (bits != kPoisonBits)
                kernel_error("wgmma.wait_group: accumulator register d[" + std::to_string(i) +
                             "] was written while its wgmma.mma_async was in flight");
        }
        if (p.read) {
            for (size_t e = 0; e < p.read->offsets.size(); ++e)
                if (std::memcmp(dynamic_shared.base + p.read->offsets[e], &p.read->bits[e], 2) != 0)
                    kernel_error("wgmma.wait_group: shared memory at dynamic offset " +
                                 std::to_string(p.read->offsets[e]) +
                                 ", read by an in-flight wgmma.mma_async, changed before its wait");
            p.read.reset();
        }
    }
    for (Pending& p : group)  // chained products on the same registers land in issue order
        if (!pending_later(st, p.d)) std::memcpy(p.d, p.value.data(), size_t(p.count) * 4);
    st.committed.erase(st.committed.begin());
}

}  // namespace

uint32_t shared_address(const void* p) {
    const auto* b = static_cast<const unsigned char*>(p);
    const DynamicShared& s = dynamic_shared;
    if (b < s.base || b >= s.base + s.bytes)
        kernel_error("a wgmma descriptor's matrix must lie in the block's dynamic shared memory");
    return uint32_t(b - s.base);
}

void wgmma_fence() {
    require_sm90("wgmma.fence");
    // every lane of the warp, as .sync.aligned requires
    warp_collective("wgmma.fence", 0xffffffffu, nullptr, [](void* const*, unsigned) {});
    lane_state().fenced = true;
}

void wgmma_issue(const WgmmaIssue& op) {
    require_sm90("wgmma.mma_async");
    if (blockDim.x * blockDim.y * blockDim.z % 128 != 0)
        kernel_error("wgmma.mma_async in a block of " + std::to_string(blockDim.x * blockDim.y * blockDim.z) +
                     " threads: it is executed by whole warpgroups (128 threads)");
    LaneState& st = lane_state();
    if (!st.fenced)
        kernel_error("wgmma.mma_async without a wgmma.fence since this thread's last wgmma.wait_group (or its start): "
                     "the fence orders the register accesses before it");
    if ((op.desc_b >> 49 & 7) || (!op.a && (op.desc_a >> 49 & 7)))
        kernel_error("wgmma.mma_async: a descriptor with a non-zero base offset (the emulator takes swizzle "
                     "patterns as starting on their own boundaries)");
    Slot slot{&op, accumulators(st, op.d, op.n / 2), nullptr, nullptr};
    Pending p{op.d, op.n / 2, {}, nullptr};
    slot.out = &p.value;
    slot.read = &p.read;
    static const char* const names[2] = {"wgmma.mma_async f16", "wgmma.mma_async bf16"};
    warp_collective(names[op.bf16], 0xffffffffu, &slot, &complete);
    for (int i = 0; i < p.count; ++i) std::memcpy(&op.d[i], &kPoisonBits, 4);
    lane_state().open.push_back(std::move(p));
}

void wgmma_commit() {
    LaneState& st = lane_state();
    st.committed.push_back(std::move(st.open));
    st.open.clear();
}

void wgmma_wait(int pending_groups) {
    LaneState& st = lane_state();
    while (int(st.committed.size()) > pending_groups) retire(st);
    st.fenced = false;
}

}  // namespace dk::emu::rt
