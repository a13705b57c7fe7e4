// arch.cuh - which GPU a launch runs on, for kernels with a faster form on one architecture.
//
//   compute_capability(ex)  major * 10 + minor of the GPU (cuda: the device's; emu: the one the
//                           emulator stands for, dk_emu_options.compute_capability, 86 by default)
//   runs_sm90a(ex)          whether that is a 9.x GPU: the launchers' test for their Hopper kernels
//   DK_SM90A                1 where a pass compiles sm_90a's own instructions (wgmma, setmaxnreg,
//                           TMA): nvcc's sm_90a pass and the emulator. Elsewhere (sm_80, the
//                           compute_90 PTX a later GPU would JIT, the host pass) a Hopper kernel's
//                           body is a trap, and its launcher is never chosen there.
#pragma once

#include "deepkern/backend.h"
#if defined(DK_EMU)
#include "deepkern/emu/options.h"
#endif

#if !defined(__CUDACC__) || defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define DK_SM90A 1
#else
#define DK_SM90A 0
#endif

namespace dk {

inline int compute_capability(const Exec& ex) {
#if defined(DK_EMU)
    return ex.emu ? ex.emu->compute_capability : EmuOptions().compute_capability;
#else
    return ex.compute_capability;
#endif
}

// Whether the launch runs on a 9.x GPU, the only one the sm_90a kernels' code loads on (a later GPU
// would JIT the compute_90 PTX, whose Hopper kernels are traps).
inline bool runs_sm90a(const Exec& ex) { return compute_capability(ex) / 10 == 9; }

}  // namespace dk
