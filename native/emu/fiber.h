// fiber.h - the emulator's execution contexts: a fiber is a stack plus a saved stack pointer,
// and dk_emu_switch moves the CPU from one to another.
//
// dk_emu_switch(save, next) pushes the callee-saved registers, stores the stack pointer in *save,
// loads `next`, pops that context's registers and returns into it: a switch is an ordinary call
// and return, so the return-address predictor stays right (TOOLCHAIN.md: ~9 ns, vs ~164 ns for
// swapcontext, which makes a syscall). The x87/SSE control words are not switched: kernels do not
// change them.
#pragma once

#include <cstddef>

extern "C" void dk_emu_switch(void** save_sp, void* next_sp);

namespace dk::emu::rt {

// A fiber stack (mmap'ed, with a guard page below it, so an overflow faults instead of silently
// corrupting a neighbour). `index` staggers the stack top across the page so that fibers' top
// frames do not all fall into the same L1 sets.
class FiberStack {
public:
    FiberStack(size_t bytes, int index);
    ~FiberStack();
    FiberStack(const FiberStack&) = delete;
    FiberStack& operator=(const FiberStack&) = delete;

    // A stack pointer that dk_emu_switch resumes as a call of entry(arg); entry must never return.
    void* initial_sp(void (*entry)(void*), void* arg) const;

private:
    char* map_;
    size_t map_bytes_;
    char* top_;
};

}  // namespace dk::emu::rt
