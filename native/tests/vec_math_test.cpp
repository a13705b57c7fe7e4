// vec_math_test.cpp - the cpu backend's f32 exp (native/cpu/vec_math.h) against the double
// std::exp rounded to f32: every f32 input with stride 31 in its bit pattern over both signs
// (about 140 million values, every binade), plus the special values. Normal results must be
// within 2 ulp, subnormal ones within 2 units of 2^-149; 0, inf and NaN exactly where expected.
// Exits non-zero on failure.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include "vec_math.h"

namespace {

using dk::cpu::exp_f32;
using dk::cpu::vm_bits_to_float;
using dk::cpu::vm_float_to_bits;

// The loop shape the backend uses (a contiguous array through exp_f32), built the ways the
// backend's row functions are, so that the vectorized code this cpu runs is the code under test.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void exp_array(const float* __restrict x, float* __restrict y, int n) {
    for (int i = 0; i < n; ++i) y[i] = exp_f32(x[i]);
}

// Distance from got to the correctly rounded exp(x), in units of the f32 spacing at the
// reference (2^-149 for subnormal references).
double ulps(float x, float got) {
    const float ref = float(std::exp(double(x)));
    if (std::isinf(ref) || ref == 0.0f) return got == ref ? 0.0 : 1e30;
    const int e = std::ilogb(ref);
    const double spacing = std::ldexp(1.0, (e < -126 ? -126 : e) - 23);
    return std::fabs(double(got) - std::exp(double(x))) / spacing;
}

}  // namespace

int main() {
    int failures = 0;
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    struct Special { float x, want; };
    for (const Special& s : {Special{0.0f, 1.0f}, Special{-0.0f, 1.0f}, Special{-inf, 0.0f}, Special{inf, inf},
                             Special{-1e30f, 0.0f}, Special{1e30f, inf}, Special{-104.5f, 0.0f}, Special{89.5f, inf}}) {
        const float got = exp_f32(s.x);
        if (got != s.want) {
            std::fprintf(stderr, "FAIL exp_f32(%g) = %g, expected %g\n", double(s.x), double(got), double(s.want));
            ++failures;
        }
    }
    if (!std::isnan(exp_f32(nan)) || !std::isnan(exp_f32(-nan))) {
        std::fprintf(stderr, "FAIL exp_f32(NaN) is not NaN\n");
        ++failures;
    }

    const int batch = 1 << 16;
    std::vector<float> x(batch), y(batch);
    double worst = 0.0;
    float worst_x = 0.0f;
    int64_t count = 0;
    for (uint32_t sign : {0u, 0x80000000u}) {
        uint32_t u = 0;
        while (u < 0x7f800000u) {
            int n = 0;
            for (; n < batch && u < 0x7f800000u; ++n, u += 31) x[size_t(n)] = vm_bits_to_float(sign | u);
            exp_array(x.data(), y.data(), n);
            for (int i = 0; i < n; ++i) {
                const double d = ulps(x[size_t(i)], y[size_t(i)]);
                if (d > worst) worst = d, worst_x = x[size_t(i)];
            }
            count += n;
        }
    }
    std::printf("exp_f32: %lld inputs, worst %.3f ulp at x = %.9g (0x%08x)\n", static_cast<long long>(count), worst,
                double(worst_x), unsigned(vm_float_to_bits(worst_x)));
    if (worst > 2.0) {
        std::fprintf(stderr, "FAIL exp_f32 error above 2 ulp\n");
        ++failures;
    }
    return failures == 0 ? 0 : 1;
}
