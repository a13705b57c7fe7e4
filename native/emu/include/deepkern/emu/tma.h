// emu/tma.h - the emulator's side of the TMA tiled copies (deepkern/tma.cuh). The emulator's tensor
// map is the TmaTiled parameters behind a tag; a load copies its box as late as its mbarrier allows
// (runtime.h's mbarrier_defer_tx; zeros outside the tensor, the swizzle applied on shared address
// bits), a store copies at once and compares the shared memory it read when its group is waited on.
#pragma once

#include <cstdint>

namespace dk::emu::rt {

constexpr uint64_t kTensorMapTag = 0x30504d54414d4b44ull;  // "DKMATMP0": made by make_tensor_map

void tma_load(void* smem, const uint64_t* map, void* bar, const int* coords, int rank);
void tma_store(const uint64_t* map, const void* smem, const int* coords, int rank);
void tma_store_commit();
void tma_store_wait(int pending_groups);

}  // namespace dk::emu::rt
