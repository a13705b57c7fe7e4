// cpu/isa.h - loops built for three x86-64 vector ISAs, the widest the running CPU has picked at
// run time, so that what ships needs no -march.
//
// A file writes its hot loops once in a body file (no includes of its own: the .cpp includes what
// the body needs first) and includes it through isa_variants.h, which compiles it three times:
// namespace isa_sse2 for the x86-64 baseline (4 f32 lanes), isa_avx2 under AVX2 + FMA + F16C
// (8 lanes) and isa_avx512 under AVX-512 F/BW/DQ/VL with 512-bit vectors preferred (16 lanes).
// Inline functions the body calls (the kernels' element math) are inlined into each copy and so
// compiled for its ISA; a body function that must not call out is marked DK_ISA_FLATTEN. Each
// namespace's kLanes is its f32 vector width, for bodies that size register tiles by it.
// DK_ISA_CALL(fn, args...) calls the copy for cpu_isa().
//
// Results may differ between ISAs in the last bit (FMA contracts a * b + c on AVX2 and AVX-512),
// never between thread counts: no body's arithmetic depends on how the work is split.
//
// Beyond the vector copies, a loop may use AMX's bf16 tiles (Intel since Sapphire Rapids) when
// cpu_amx_bf16() says so; the AVX-512 copy serves it around the tile products.
#pragma once

namespace dk::cpu {

enum class Isa { sse2, avx2, avx512 };

// The widest ISA this CPU runs, capped by DEEPKERN_CPU_ISA (sse2, avx2, avx512 or amx) when set: the
// tests run every copy that way, and the bench can show what each is worth.
Isa cpu_isa();

// Whether AMX-TILE + AMX-BF16 may run: the CPU has them, AVX-512 and AVX512-BF16, Linux granted
// this process the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once, on the first call),
// and DEEPKERN_CPU_ISA is unset or amx (avx512 and below rule AMX out).
bool cpu_amx_bf16();

const char* isa_name(Isa isa);

}  // namespace dk::cpu

#define DK_ISA_FLATTEN __attribute__((flatten))

#define DK_ISA_CALL(fn, ...)                                                          \
    do {                                                                              \
        switch (::dk::cpu::cpu_isa()) {                                               \
            case ::dk::cpu::Isa::avx512: ::dk::cpu::isa_avx512::fn(__VA_ARGS__); break; \
            case ::dk::cpu::Isa::avx2: ::dk::cpu::isa_avx2::fn(__VA_ARGS__); break;     \
            default: ::dk::cpu::isa_sse2::fn(__VA_ARGS__); break;                      \
        }                                                                             \
    } while (0)
