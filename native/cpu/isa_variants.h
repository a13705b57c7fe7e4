// cpu/isa_variants.h - includes the body file named by DK_ISA_BODY three times, once per ISA of
// isa.h. No include guard: a .cpp includes it once per body. The GCC target pragmas apply to every
// function the body defines, lambdas included.
#ifndef DK_ISA_BODY
#error "define DK_ISA_BODY as the body file (a string) before including isa_variants.h"
#endif

// Each copy's f32 lanes per vector register, for bodies that size register tiles by them (GCC's
// target pragmas do not update __AVX512F__ and the like in C++, so a body cannot test those).
#ifndef DK_ISA_LANES_DECLARED
#define DK_ISA_LANES_DECLARED
namespace dk::cpu::isa_sse2 { constexpr int kLanes = 4; }
namespace dk::cpu::isa_avx2 { constexpr int kLanes = 8; }
namespace dk::cpu::isa_avx512 { constexpr int kLanes = 16; }
#endif

namespace dk::cpu::isa_sse2 {
#include DK_ISA_BODY
}  // namespace dk::cpu::isa_sse2

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace dk::cpu::isa_avx2 {
#include DK_ISA_BODY
}  // namespace dk::cpu::isa_avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,prefer-vector-width=512")
namespace dk::cpu::isa_avx512 {
#include DK_ISA_BODY
}  // namespace dk::cpu::isa_avx512
#pragma GCC pop_options

#undef DK_ISA_BODY
