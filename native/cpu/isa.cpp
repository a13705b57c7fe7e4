// cpu/isa.cpp - which of isa.h's copies runs: the CPU's widest, capped by DEEPKERN_CPU_ISA; and
// whether AMX may run beside the widest.
#include "isa.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace dk::cpu {

namespace {

Isa detect() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return Isa::avx2;
    return Isa::sse2;
}

// DEEPKERN_CPU_ISA's value, or null when unset.
const char* cap() { return std::getenv("DEEPKERN_CPU_ISA"); }

// CPUID leaf 7: AMX-BF16 is EDX bit 22, AMX-TILE bit 24, and AVX512-BF16 (the conversions around
// the tiles; every CPU with AMX so far has it) subleaf 1's EAX bit 5. The tile state must then be
// requested from Linux (5.16 on) for the process: tile instructions fault without it. The kernel
// refuses when a thread's signal stack is too small for the enlarged signal frame; then AMX stays off.
bool amx_granted() {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(edx >> 22 & 1) || !(edx >> 24 & 1)) return false;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) || !(eax >> 5 & 1)) return false;
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

}  // namespace

Isa cpu_isa() {
    static const Isa isa = [] {
        const Isa best = detect();
        const char* c = cap();
        if (!c) return best;
        Isa want = best;
        if (!std::strcmp(c, "sse2")) want = Isa::sse2;
        else if (!std::strcmp(c, "avx2")) want = Isa::avx2;
        return want < best ? want : best;
    }();
    return isa;
}

bool cpu_amx_bf16() {
    static const bool amx = [] {
        const char* c = cap();
        return cpu_isa() == Isa::avx512 && (!c || !std::strcmp(c, "amx")) && amx_granted();
    }();
    return amx;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512: return "avx512";
        case Isa::avx2: return "avx2";
        default: return "sse2";
    }
}

}  // namespace dk::cpu
