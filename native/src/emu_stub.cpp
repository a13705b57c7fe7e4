// emu_stub.cpp - the emulator entry points of a library built without the emulator.
#include "api.h"

extern "C" {

DK_API dk_status dk_emu_get_options(const dk_context*, dk_emu_options*) {
    return dk::guard("dk_emu_get_options", [] {
        dk::fail(DK_ERROR_UNAVAILABLE, "emu backend unavailable: not built");
    });
}

DK_API dk_status dk_emu_set_options(dk_context*, const dk_emu_options*) {
    return dk::guard("dk_emu_set_options", [] {
        dk::fail(DK_ERROR_UNAVAILABLE, "emu backend unavailable: not built");
    });
}

DK_API dk_status dk_selftest(dk_context*, const char*, const dk_tensor*, const dk_tensor*, dk_tensor*) {
    return dk::guard("dk_selftest", [] {
        dk::fail(DK_ERROR_NOT_SUPPORTED, "runtime self-tests are not built");
    });
}

}  // extern "C"
