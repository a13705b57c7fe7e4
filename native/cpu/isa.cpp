// cpu/isa.cpp - which of isa.h's copies runs: the CPU's widest, capped by DEEPKERN_CPU_ISA.
#include "isa.h"

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

}  // namespace

Isa cpu_isa() {
    static const Isa isa = [] {
        const Isa best = detect();
        const char* cap = std::getenv("DEEPKERN_CPU_ISA");
        if (!cap) return best;
        Isa want = best;
        if (!std::strcmp(cap, "sse2")) want = Isa::sse2;
        else if (!std::strcmp(cap, "avx2")) want = Isa::avx2;
        return want < best ? want : best;
    }();
    return isa;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512: return "avx512";
        case Isa::avx2: return "avx2";
        default: return "sse2";
    }
}

}  // namespace dk::cpu
