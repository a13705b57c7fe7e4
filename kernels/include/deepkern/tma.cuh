// tma.cuh - the tensor memory accelerator's tiled copies (PTX ISA "cp.async.bulk.tensor"), sm_90a:
// a box of up to 5 dimensions moved between a global tensor and shared memory by one thread,
// described by a tensor map the host encodes.
//
//   TmaTiled                       the map's parameters (cuTensorMapEncodeTiled's, tiled mode):
//                                  rank, element bytes, global base, dims and byte strides, box, swizzle
//   make_tensor_map(t)             host: the 128-byte map, checked against the driver's rules first (a
//                                  dk::Error naming the rule); on CUDA encoded by the driver, whose
//                                  entry point is fetched at run time (the library loads without one)
//   tma_load<R>(smem, map, bar, c) the box at coordinates c (innermost first, may reach outside the
//                                  tensor: zeros there) into smem, completing its bytes on mbarrier bar
//                                  (pipeline_sync.cuh: arrive_expect_tx the box's bytes, then wait)
//   tma_store<R>(map, smem, c)     the box from smem to global (elements outside the tensor skipped)
//   tma_store_commit() / tma_store_wait<N>()  bulk groups: after the wait at most N groups still read
//                                  their shared memory
//   fence_proxy_async()            (pipeline_sync.cuh) before a TMA store of what the threads wrote
//
// The box lies in shared memory row after row, dim 0 fastest; swizzled (32/64/128 bytes) the 16-byte
// chunk index is XORed with address bits 7.. as wgmma reads it; the destination is 128-byte aligned,
// and swizzled, aligned to the pattern's repeat (8 x its span). Kernels take the map as a
// DK_GRID_CONSTANT const TensorMap parameter. In the emu build a load lands as late as it may under
// the FORWARD schedule (when its barrier is tested, or no thread can run but its waiters: read
// without waiting, the box is still poison) and at issue under REVERSE (RANDOM: either, seeded), so
// a refill of memory still being read shows too; a store's shared memory is compared at its wait, and misaligned boxes and maps not
// made by make_tensor_map fail, as do stores of bytes written with no fence_proxy_async since.
#pragma once

#include <cstdint>
#include <cstring>

#include "deepkern/error.h"
#include "deepkern/pipeline_sync.cuh"
#include "deepkern/portable.cuh"
#include "deepkern/tma_map.h"
#if defined(__CUDACC__)
#include <cuda.h>
#else
#include "deepkern/emu/tma.h"
#endif

#if defined(__CUDACC__)
#define DK_GRID_CONSTANT __grid_constant__
#else
#define DK_GRID_CONSTANT
#endif

namespace dk {

inline TensorMap make_tensor_map(const TmaTiled& t) {
    const std::string problem = tma_problem(t);
    if (!problem.empty()) throw Error(DK_ERROR_INVALID_ARGUMENT, "tensor map: " + problem);
    TensorMap map{};
#if defined(__CUDACC__)
    using Encode = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
    static const Encode encode = [] {
        void* f = nullptr;
        cudaDriverEntryPointQueryResult found;
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found) !=
                cudaSuccess ||
            found != cudaDriverEntryPointSuccess)
            f = nullptr;
        return reinterpret_cast<Encode>(f);
    }();
    if (!encode) throw Error(DK_ERROR_DEVICE, "tensor map: the driver has no cuTensorMapEncodeTiled (a CUDA 12 driver or later)");
    static const CUtensorMapDataType types[9] = {CU_TENSOR_MAP_DATA_TYPE_UINT8, CU_TENSOR_MAP_DATA_TYPE_UINT8,
                                                 CU_TENSOR_MAP_DATA_TYPE_UINT16, CU_TENSOR_MAP_DATA_TYPE_UINT8,
                                                 CU_TENSOR_MAP_DATA_TYPE_UINT32, CU_TENSOR_MAP_DATA_TYPE_UINT8,
                                                 CU_TENSOR_MAP_DATA_TYPE_UINT8, CU_TENSOR_MAP_DATA_TYPE_UINT8,
                                                 CU_TENSOR_MAP_DATA_TYPE_INT64};
    const cuuint32_t ones[5] = {1, 1, 1, 1, 1};
    static_assert(sizeof(CUtensorMap) == sizeof(TensorMap), "a TensorMap holds a CUtensorMap");
    const CUresult r = encode(reinterpret_cast<CUtensorMap*>(&map), types[t.element_bytes], cuuint32_t(t.rank),
                              const_cast<void*>(t.global), t.dims, t.strides, t.box, ones, CU_TENSOR_MAP_INTERLEAVE_NONE,
                              CUtensorMapSwizzle(t.swizzle), CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
                              CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) throw Error(DK_ERROR_DEVICE, "tensor map: cuTensorMapEncodeTiled failed (CUresult " + std::to_string(int(r)) + ")");
#else
    static_assert(sizeof(uint64_t) + sizeof(TmaTiled) <= sizeof(TensorMap), "the emulator's map holds its parameters");
    map.opaque[0] = emu::rt::kTensorMapTag;
    std::memcpy(&map.opaque[1], &t, sizeof t);
#endif
    return map;
}

template <int Rank>
__device__ __forceinline__ void tma_load(void* smem, const TensorMap& map, uint64_t* bar, const int (&c)[Rank]) {
    static_assert(Rank >= 1 && Rank <= 5, "tma_load: 1 to 5 dimensions");
#if defined(__CUDACC__)
    const unsigned dst = unsigned(__cvta_generic_to_shared(smem)), mb = unsigned(__cvta_generic_to_shared(bar));
    const uint64_t m = reinterpret_cast<uint64_t>(&map);
#define DK_TMA_LOAD(R, COORDS, ...)                                                                              \
    asm volatile("cp.async.bulk.tensor." #R "d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, " \
                 COORDS "], [%2];\n" ::"r"(dst),                                                                 \
                 "l"(m), "r"(mb), __VA_ARGS__                                                                    \
                 : "memory")
    if constexpr (Rank == 1) DK_TMA_LOAD(1, "{%3}", "r"(c[0]));
    else if constexpr (Rank == 2) DK_TMA_LOAD(2, "{%3, %4}", "r"(c[0]), "r"(c[1]));
    else if constexpr (Rank == 3) DK_TMA_LOAD(3, "{%3, %4, %5}", "r"(c[0]), "r"(c[1]), "r"(c[2]));
    else if constexpr (Rank == 4) DK_TMA_LOAD(4, "{%3, %4, %5, %6}", "r"(c[0]), "r"(c[1]), "r"(c[2]), "r"(c[3]));
    else DK_TMA_LOAD(5, "{%3, %4, %5, %6, %7}", "r"(c[0]), "r"(c[1]), "r"(c[2]), "r"(c[3]), "r"(c[4]));
#undef DK_TMA_LOAD
#else
    emu::rt::tma_load(smem, map.opaque, bar, c, Rank);
#endif
}

template <int Rank>
__device__ __forceinline__ void tma_store(const TensorMap& map, const void* smem, const int (&c)[Rank]) {
    static_assert(Rank >= 1 && Rank <= 5, "tma_store: 1 to 5 dimensions");
#if defined(__CUDACC__)
    const unsigned src = unsigned(__cvta_generic_to_shared(smem));
    const uint64_t m = reinterpret_cast<uint64_t>(&map);
#define DK_TMA_STORE(R, COORDS, ...)                                                                          \
    asm volatile("cp.async.bulk.tensor." #R "d.global.shared::cta.tile.bulk_group [%0, " COORDS "], [%1];\n" :: \
                     "l"(m),                                                                                  \
                 "r"(src), __VA_ARGS__                                                                        \
                 : "memory")
    if constexpr (Rank == 1) DK_TMA_STORE(1, "{%2}", "r"(c[0]));
    else if constexpr (Rank == 2) DK_TMA_STORE(2, "{%2, %3}", "r"(c[0]), "r"(c[1]));
    else if constexpr (Rank == 3) DK_TMA_STORE(3, "{%2, %3, %4}", "r"(c[0]), "r"(c[1]), "r"(c[2]));
    else if constexpr (Rank == 4) DK_TMA_STORE(4, "{%2, %3, %4, %5}", "r"(c[0]), "r"(c[1]), "r"(c[2]), "r"(c[3]));
    else DK_TMA_STORE(5, "{%2, %3, %4, %5, %6}", "r"(c[0]), "r"(c[1]), "r"(c[2]), "r"(c[3]), "r"(c[4]));
#undef DK_TMA_STORE
#else
    emu::rt::tma_store(map.opaque, smem, c, Rank);
#endif
}

__device__ __forceinline__ void tma_store_commit() {
#if defined(__CUDACC__)
    asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
#else
    emu::rt::tma_store_commit();
#endif
}

template <int N>
__device__ __forceinline__ void tma_store_wait() {
#if defined(__CUDACC__)
    asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(N) : "memory");
#else
    emu::rt::tma_store_wait(N);
#endif
}

}  // namespace dk
