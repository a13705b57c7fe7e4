// fiber.cpp - the hand-written x86-64 (System V) context switch and the fiber stacks.
// The assembly lives in this one file: as top-level asm in a header it was emitted once per
// translation unit and the symbols clashed.
#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

#if !defined(__x86_64__)
#error "the kernel emulator's context switch is written for x86-64"
#endif

// dk_emu_switch: save rbp rbx r12-r15 on the current stack, swap stacks, restore, ret.
// dk_emu_fiber_start: first frame of a new fiber; dk_emu_switch "returns" into it with the entry
// function in r13 and its argument in r12. It has no caller (the CFI says so, ending backtraces).
asm(R"(
    .text
    .globl dk_emu_switch
    .hidden dk_emu_switch
    .type dk_emu_switch, @function
    .p2align 4
dk_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size dk_emu_switch, .-dk_emu_switch

    .globl dk_emu_fiber_start
    .hidden dk_emu_fiber_start
    .type dk_emu_fiber_start, @function
    .p2align 4
dk_emu_fiber_start:
    .cfi_startproc
    .cfi_undefined rip
    movq %r12, %rdi
    callq *%r13
    ud2
    .cfi_endproc
    .size dk_emu_fiber_start, .-dk_emu_fiber_start
)");

extern "C" void dk_emu_fiber_start();

namespace dk::emu::rt {

FiberStack::FiberStack(size_t bytes, int index) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    map_bytes_ = (bytes + page - 1) / page * page + page;
    void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    map_ = static_cast<char*>(p);
    mprotect(map_, page, PROT_NONE);  // guard page
    // 15 stagger steps of 272 bytes (a multiple of 16) spread the tops over ~4 KiB
    top_ = map_ + map_bytes_ - 64 - size_t(index % 15) * 272;
}

FiberStack::~FiberStack() { munmap(map_, map_bytes_); }

void* FiberStack::initial_sp(void (*entry)(void*), void* arg) const {
    // Frame popped by dk_emu_switch: r15 r14 r13 r12 rbx rbp, then the return address. The top is
    // 16-byte aligned and sp = top - 72, so dk_emu_fiber_start runs with rsp = top - 16 and its
    // call enters entry() with the ABI's alignment (rsp % 16 == 8).
    uintptr_t top = reinterpret_cast<uintptr_t>(top_) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top - 72);
    sp[0] = nullptr;                                     // r15
    sp[1] = nullptr;                                     // r14
    sp[2] = reinterpret_cast<void*>(entry);              // r13
    sp[3] = arg;                                         // r12
    sp[4] = nullptr;                                     // rbx
    sp[5] = nullptr;                                     // rbp
    sp[6] = reinterpret_cast<void*>(&dk_emu_fiber_start);  // return address
    return sp;
}

}  // namespace dk::emu::rt
