// emu/options.h - the emulator's launch options as a context stores them (dk_emu_options of the
// C API, with the documented defaults). dk::Exec::emu points at the context's copy; a launch reads
// it once, when it starts.
#pragma once

#include "deepkern.h"

namespace dk {

struct EmuOptions : dk_emu_options {
    EmuOptions() : dk_emu_options{DK_EMU_FORWARD, 0, DK_SHARED_LIMIT_SM86, 0, 86} {}
};

}  // namespace dk
