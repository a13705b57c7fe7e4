// vec_math_bench.cpp - deepkern/vec_math.h side by side with glibc's libmvec (the _ZGVbN4v_ SSE,
// _ZGVdN8v_ AVX2 and _ZGVeN16v_ AVX-512 variants) and scalar libm: throughput (ns per element,
// one thread, a 32768-element array that stays in L2, the best of several timed passes) and,
// with --sweep (every bit pattern; --stride N for every Nth; --only exp,erfc for some functions;
// --no-timing for the sweep alone), the max ulp of each over the same
// inputs as vec_math_test (vec_math_sweep.h), references computed once for all of them.
// GELU is also timed the way libmvec would do it, 0.5 x erfc(-x / sqrt2) (which loses the lower
// tail's relative accuracy), for the decision in vec_math.h's header. A tool, not a test: it
// links libmvec, which nothing shipped does.
#include <immintrin.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "isa.h"
#include "vec_math_sweep.h"

#define DK_ISA_BODY "vec_math_loops.inc"
#include "isa_variants.h"

// libmvec's entry points, by the x86-64 vector ABI's names.
#define DK_MVEC_FUNCTIONS(X) X(exp, expf) X(expm1, expm1f) X(log1p, log1pf) X(tanh, tanhf) X(erf, erff) X(erfc, erfcf)
#define DK_MVEC_DECLARE(name, cfn)                   \
    extern "C" __m128 _ZGVbN4v_##cfn(__m128);        \
    extern "C" __m256 _ZGVdN8v_##cfn(__m256);        \
    extern "C" __m512 _ZGVeN16v_##cfn(__m512);
DK_MVEC_FUNCTIONS(DK_MVEC_DECLARE)
#undef DK_MVEC_DECLARE

namespace {

using namespace vm_sweep;

// Arrays through libmvec: whole vectors, the tail through a zero-padded one.
#define DK_MVEC_ARRAYS(name, cfn)                                                                   \
    void name##_mvec4(const float* x, float* y, int n) {                                            \
        int i = 0;                                                                                  \
        for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _ZGVbN4v_##cfn(_mm_loadu_ps(x + i)));       \
        for (; i < n; ++i) y[i] = _mm_cvtss_f32(_ZGVbN4v_##cfn(_mm_set1_ps(x[i])));                 \
    }                                                                                               \
    __attribute__((target("avx2,fma"))) void name##_mvec8(const float* x, float* y, int n) {        \
        int i = 0;                                                                                  \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _ZGVdN8v_##cfn(_mm256_loadu_ps(x + i))); \
        for (; i < n; ++i) y[i] = _mm256_cvtss_f32(_ZGVdN8v_##cfn(_mm256_set1_ps(x[i])));           \
    }                                                                                               \
    __attribute__((target("avx512f"))) void name##_mvec16(const float* x, float* y, int n) {        \
        int i = 0;                                                                                  \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _ZGVeN16v_##cfn(_mm512_loadu_ps(x + i))); \
        for (; i < n; ++i) y[i] = _mm512_cvtss_f32(_ZGVeN16v_##cfn(_mm512_set1_ps(x[i])));          \
    }                                                                                               \
    void name##_libm(const float* x, float* y, int n) {                                             \
        for (int i = 0; i < n; ++i) y[i] = ::cfn(x[i]);                                             \
    }
DK_MVEC_FUNCTIONS(DK_MVEC_ARRAYS)
#undef DK_MVEC_ARRAYS

// gelu = 0.5 x erfc(-x / sqrt2) with libmvec's and libm's erfcf.
__attribute__((target("avx512f"))) void gelu_mvec16(const float* x, float* y, int n) {
    const __m512 c = _mm512_set1_ps(-0.707106769f), h = _mm512_set1_ps(0.5f);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_mul_ps(h, v), _ZGVeN16v_erfcf(_mm512_mul_ps(c, v))));
    }
    for (; i < n; ++i) y[i] = 0.5f * x[i] * ::erfcf(-0.707106769f * x[i]);
}
void gelu_libm(const float* x, float* y, int n) {
    for (int i = 0; i < n; ++i) y[i] = 0.5f * x[i] * ::erfcf(-0.707106769f * x[i]);
}

std::vector<Candidate> candidates(const std::string& only) {
    std::vector<Candidate> c;
    const dk::cpu::Isa best = dk::cpu::cpu_isa();
    for (int f = 0; f < fn_count; ++f) {
        if (!only.empty() && only.find(std::string(",") + fn_name(f) + ",") == std::string::npos) continue;
        c.push_back({f, dk::cpu::isa_sse2::arrays[f], "vec_math sse2"});
        if (best >= dk::cpu::Isa::avx2) c.push_back({f, dk::cpu::isa_avx2::arrays[f], "vec_math avx2"});
        if (best >= dk::cpu::Isa::avx512) c.push_back({f, dk::cpu::isa_avx512::arrays[f], "vec_math avx512"});
#define DK_MVEC_CANDIDATES(name, cfn)                                                              \
    if (f == fn_##name) {                                                                          \
        c.push_back({f, name##_mvec4, "libmvec _ZGVbN4v"});                                        \
        if (best >= dk::cpu::Isa::avx2) c.push_back({f, name##_mvec8, "libmvec _ZGVdN8v"});        \
        if (best >= dk::cpu::Isa::avx512) c.push_back({f, name##_mvec16, "libmvec _ZGVeN16v"});    \
        c.push_back({f, name##_libm, "libm " #cfn});                                               \
    }
        DK_MVEC_FUNCTIONS(DK_MVEC_CANDIDATES)
#undef DK_MVEC_CANDIDATES
        if (f == fn_gelu) {
            if (best >= dk::cpu::Isa::avx512) c.push_back({f, gelu_mvec16, "libmvec erfcf e16"});
            c.push_back({f, gelu_libm, "libm erfcf"});
        }
    }
    return c;
}

double ns_per_element(ArrayFn fn, const std::vector<float>& x, std::vector<float>& y) {
    const int n = int(x.size());
    double best = 1e30;
    for (int rep = 0; rep < 7; ++rep) {
        int passes = 0;
        const auto t0 = std::chrono::steady_clock::now();
        double s = 0.0;
        do {
            fn(x.data(), y.data(), n);
            ++passes;
            s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        } while (s < 0.02);
        best = std::min(best, s * 1e9 / (double(passes) * n));
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t stride = 0;
    std::string only;
    bool timing = true;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--sweep")) stride = 1;
        else if (!std::strcmp(argv[i], "--stride") && i + 1 < argc) stride = std::strtoull(argv[++i], nullptr, 10);
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = std::string(",") + argv[++i] + ",";
        else if (!std::strcmp(argv[i], "--no-timing")) timing = false;
    }
    std::vector<Candidate> cands = candidates(only);
    std::mt19937 rng(7);
    std::vector<float> x(32768), y(x.size());
    std::printf("throughput, one thread, %zu-element arrays (ns per element)\n", x.size());
    for (Candidate& c : cands) {
        if (!timing) break;
        const bool log1p = c.fn == fn_log1p;
        std::uniform_real_distribution<float> dist(log1p ? -0.99f : -10.0f, log1p ? 100.0f : 10.0f);
        for (float& v : x) v = dist(rng);
        std::printf("%-16s %-22s %7.3f ns\n", fn_name(c.fn), c.label, ns_per_element(c.array, x, y));
    }
    if (stride) {
        const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
        sweep(cands, stride, threads);
        std::printf("max error over %lld inputs (stride %llu)\n", static_cast<long long>(cands[0].count),
                    static_cast<unsigned long long>(stride));
        for (const Candidate& c : cands) print_candidate(c);
    }
    return 0;
}
