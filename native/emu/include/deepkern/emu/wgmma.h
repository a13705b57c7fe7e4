// emu/wgmma.h - the emulator's side of wgmma.mma_async (deepkern/wgmma.cuh): Hopper's asynchronous
// warpgroup matrix multiply, D[64 x N] (f32) = A[64 x 16] B[16 x N] (+ D), f16 / bf16 operands, A
// from registers or a shared-memory descriptor, B from a descriptor.
//
// Each warp of the warpgroup is a collective computing its 16 rows of D (the warps' results are
// independent); the launch must be whole warpgroups. A product is computed when the warp issues
// it, from the shared memory its descriptors name (PTX ISA: "Matrix Descriptor", the canonical
// K-major and MN-major layouts, swizzle on address bits 4-6 by bits 7-9), and lands in the
// accumulator registers only when wait_group retires its group: until then they hold a NaN
// poison, and a later product chained on the same accumulators reads the pending values, as the
// hardware chains them. Strict failures: a product without a wgmma.fence since the thread's last
// wait_group (or its start), lanes disagreeing on the operands, a descriptor with a base offset or
// reading past the dynamic shared memory, shared memory an in-flight product read changed before
// its wait, an accumulator register written while its product is in flight.
#pragma once

#include <cstdint>

namespace dk::emu::rt {

struct WgmmaIssue {
    int n;             // the product's N: 8 .. 256, a multiple of 8
    bool bf16;         // else f16
    const uint32_t* a; // A's 4 fragment registers (register form), or null: from desc_a
    uint64_t desc_a, desc_b;
    bool trans_a, trans_b;  // MN-major A / B (imm-trans); K-major when false
    bool accumulate;        // scale-d: D = A B + D, else D = A B
    float* d;               // this thread's n / 2 accumulators
};

void wgmma_fence();
void wgmma_issue(const WgmmaIssue& op);
void wgmma_commit();
void wgmma_wait(int pending_groups);

// A descriptor's start address for a pointer into the block's dynamic shared memory (its offset
// there: the emulator's shared address space).
uint32_t shared_address(const void* p);

}  // namespace dk::emu::rt
