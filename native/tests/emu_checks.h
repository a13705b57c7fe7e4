// emu_checks.h - what the emulated-kernel checks (dialect_checks.cpp, wgmma_checks.cpp) share: a
// failed expectation is printed and counted, and a launch that must fail is checked for the
// emulator's kernel error.
#pragma once

#include <cstdio>
#include <string>

#include "deepkern/backend.h"
#include "deepkern/emu/options.h"
#include "deepkern/error.h"

namespace emu_checks {

inline int failures = 0;

inline void expect(bool cond, const std::string& what) {
    if (!cond) {
        std::fprintf(stderr, "FAIL emu check: %s\n", what.c_str());
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

// An Exec whose emulator stands for an sm_90 (Hopper's instructions allowed), the schedule forward.
struct Hopper : dk::Exec {
    dk::EmuOptions options;
    Hopper() {
        options.compute_capability = 90;
        emu = &options;
    }
    Hopper(const Hopper&) = delete;  // emu points into this object
};

// ex with the threads between barriers run in another order (emu/options.h's schedule).
struct Scheduled : dk::Exec {
    dk::EmuOptions options;
    Scheduled(const dk::Exec& ex, int schedule) : dk::Exec(ex), options(*ex.emu) {
        options.schedule = schedule;
        emu = &options;
    }
    Scheduled(const Scheduled&) = delete;  // emu points into this object
};

}  // namespace emu_checks
