// vec_math_test.cpp - deepkern/vec_math.h's f32 functions against double references
// (vec_math_sweep.h), each through the loop the backend uses, compiled for every ISA copy of
// native/cpu/isa_variants.h that this CPU runs (DEEPKERN_CPU_ISA caps them): the special values
// exactly, and the error over f32 inputs within each function's bound. By default every 127th bit
// pattern (34 million inputs, every binade, both signs); `--full` sweeps all 2^32 (tens of CPU
// minutes for all functions; the bounds in vec_math.h's header come from that run), `--stride N`
// any other, `--only gelu,erfc` a subset of the functions.
// Exits non-zero on failure.
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>

#include "isa.h"
#include "vec_math_sweep.h"

#define DK_ISA_BODY "vec_math_loops.inc"
#include "isa_variants.h"

namespace {

using namespace vm_sweep;

// The asserted bounds (ulp), which --full must meet too: the all-inputs maxima rounded up where
// vec_math.h's table has them, else the 1/127 maxima plus 0.8 (full sweeps have found up to 0.74
// more than the strided one).
double bound(int f) {
    switch (f) {
        case fn_exp: return 1.5;
        case fn_expm1: return 2.3;
        case fn_log1p: return 1.5;
        case fn_tanh: return 3.3;
        case fn_erf: return 1.8;
        case fn_erfc: return 3.8;
        case fn_normal_cdf: return 3.5;
        case fn_gelu: return 3.5;
        case fn_gelu_grad: return 4.3;
        case fn_gelu_tanh: return 3.3;
        case fn_gelu_tanh_grad: return 5.7;
        case fn_sigmoid: return 3.0;
        case fn_silu: return 3.2;
        default: return 0.0;
    }
}

int failures = 0;

void expect(int f, float x, float want) {
    float got;
    dk::cpu::isa_sse2::arrays[f](&x, &got, 1);
    const bool same = std::isnan(want) ? std::isnan(got) : dk::cpu::vm_float_to_bits(got) == dk::cpu::vm_float_to_bits(want);
    if (!same) {
        std::fprintf(stderr, "FAIL %s(%g) = %g, expected %g\n", fn_name(f), double(x), double(got), double(want));
        ++failures;
    }
}

void special_values() {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    const float fmax = std::numeric_limits<float>::max(), tiny = 1e-40f;
    for (int f = 0; f < fn_count; ++f) expect(f, nan, nan);
    struct Case { int f; float x, want; };
    for (const Case& c : std::initializer_list<Case>{
             {fn_exp, 0.0f, 1.0f}, {fn_exp, -0.0f, 1.0f}, {fn_exp, -inf, 0.0f}, {fn_exp, inf, inf},
             {fn_exp, -1e30f, 0.0f}, {fn_exp, 1e30f, inf}, {fn_exp, -104.5f, 0.0f}, {fn_exp, 89.5f, inf},
             {fn_expm1, 0.0f, 0.0f}, {fn_expm1, -0.0f, -0.0f}, {fn_expm1, -inf, -1.0f}, {fn_expm1, inf, inf},
             {fn_expm1, tiny, tiny}, {fn_expm1, -tiny, -tiny}, {fn_expm1, 89.0f, inf},
             {fn_log1p, 0.0f, 0.0f}, {fn_log1p, -0.0f, -0.0f}, {fn_log1p, -1.0f, -inf}, {fn_log1p, -2.0f, nan},
             {fn_log1p, -inf, nan}, {fn_log1p, inf, inf}, {fn_log1p, tiny, tiny}, {fn_log1p, -tiny, -tiny},
             {fn_tanh, 0.0f, 0.0f}, {fn_tanh, -0.0f, -0.0f}, {fn_tanh, inf, 1.0f}, {fn_tanh, -inf, -1.0f},
             {fn_tanh, tiny, tiny},
             {fn_erf, 0.0f, 0.0f}, {fn_erf, -0.0f, -0.0f}, {fn_erf, inf, 1.0f}, {fn_erf, -inf, -1.0f},
             {fn_erfc, 0.0f, 1.0f}, {fn_erfc, inf, 0.0f}, {fn_erfc, -inf, 2.0f}, {fn_erfc, fmax, 0.0f},
             {fn_normal_cdf, 0.0f, 0.5f}, {fn_normal_cdf, inf, 1.0f}, {fn_normal_cdf, -inf, 0.0f},
             {fn_gelu, 0.0f, 0.0f}, {fn_gelu, -0.0f, -0.0f}, {fn_gelu, inf, inf}, {fn_gelu, -inf, nan},
             {fn_gelu, fmax, fmax}, {fn_gelu, -fmax, -0.0f}, {fn_gelu, -20.0f, -0.0f},
             {fn_gelu_grad, 0.0f, 0.5f}, {fn_gelu_grad, inf, 1.0f}, {fn_gelu_grad, -inf, nan},
             {fn_gelu_tanh, 0.0f, 0.0f}, {fn_gelu_tanh, -0.0f, -0.0f}, {fn_gelu_tanh, inf, inf},
             {fn_gelu_tanh, -inf, nan}, {fn_gelu_tanh, fmax, fmax}, {fn_gelu_tanh, -fmax, -0.0f},
             {fn_gelu_tanh_grad, 0.0f, 0.5f}, {fn_gelu_tanh_grad, inf, 1.0f}, {fn_gelu_tanh_grad, -inf, -0.0f},
             {fn_sigmoid, 0.0f, 0.5f}, {fn_sigmoid, inf, 1.0f}, {fn_sigmoid, -inf, 0.0f},
             {fn_silu, 0.0f, 0.0f}, {fn_silu, inf, inf}, {fn_silu, -inf, nan}})
        expect(c.f, c.x, c.want);
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t stride = 127;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--full")) stride = 1;
        else if (!std::strcmp(argv[i], "--stride") && i + 1 < argc) stride = std::strtoull(argv[++i], nullptr, 10);
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = std::string(",") + argv[++i] + ",";
    }
    special_values();

    std::vector<Candidate> cands;
    const dk::cpu::Isa best = dk::cpu::cpu_isa();
    for (int f = 0; f < fn_count; ++f) {
        if (!only.empty() && only.find(std::string(",") + fn_name(f) + ",") == std::string::npos) continue;
        cands.push_back({f, dk::cpu::isa_sse2::arrays[f], "sse2"});
        if (best >= dk::cpu::Isa::avx2) cands.push_back({f, dk::cpu::isa_avx2::arrays[f], "avx2"});
        if (best >= dk::cpu::Isa::avx512) cands.push_back({f, dk::cpu::isa_avx512::arrays[f], "avx512"});
    }
    const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
    sweep(cands, stride, threads);
    std::printf("%lld inputs (stride %llu) per function and ISA\n", static_cast<long long>(cands[0].count),
                static_cast<unsigned long long>(stride));
    for (const Candidate& c : cands) {
        print_candidate(c);
        if (!(c.worst <= bound(c.fn))) {
            std::fprintf(stderr, "FAIL %s (%s): %.3f ulp, above the bound %.1f\n", fn_name(c.fn), c.label, c.worst, bound(c.fn));
            ++failures;
        }
    }
    return failures == 0 ? 0 : 1;
}
