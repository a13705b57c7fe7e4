// conversion_test.cpp - numeric.cuh's host f32 <-> f16 / bf16 conversions (branch-free, so the cpu
// loops around them vectorize) against independent references: the CPU's F16C instructions for
// f16, and for bf16 the nearer of the two neighbouring bf16 values measured in double (ties to the
// even one). Every f16 value, and f32 inputs at the rounding boundaries of every exponent and
// upper-mantissa pattern plus a stride over the rest; `conversion_test --full` walks all 2^32.
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "deepkern/numeric.cuh"

namespace {

int failures = 0;

void fail(const char* what, uint32_t in, uint32_t got, uint32_t want) {
    if (++failures <= 10) std::fprintf(stderr, "FAIL %s(0x%08x) = 0x%04x, expected 0x%04x\n", what, in, got, want);
}

__attribute__((target("f16c"))) uint16_t f16_reference(float f) {
    return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

__attribute__((target("f16c"))) float f16_widen_reference(uint16_t h) { return _cvtsh_ss(h); }

uint16_t bf16_reference(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    if (std::isnan(f)) return uint16_t((u >> 16) | 0x40u);
    const uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u;  // the neighbours (hi may be the next binade)
    float flo, fhi;
    std::memcpy(&flo, &lo, 4);
    std::memcpy(&fhi, &hi, 4);
    // past the largest finite bf16 the next value is +-2^128 as a number (it rounds to inf)
    const double dhi_value = std::isinf(fhi) ? std::copysign(std::ldexp(1.0, 128), double(f)) : double(fhi);
    const double dlo = std::fabs(double(f) - double(flo)), dhi = std::fabs(dhi_value - double(f));
    if (dlo < dhi) return uint16_t(lo >> 16);
    if (dhi < dlo) return uint16_t(hi >> 16);
    return uint16_t(((lo >> 16) & 1u) ? hi >> 16 : lo >> 16);
}

void check(uint32_t u, bool f16c) {
    float f;
    std::memcpy(&f, &u, 4);
    const uint16_t b = dk::float_to_bf16_bits(f), bw = bf16_reference(u);
    if (b != bw) fail("float_to_bf16_bits", u, b, bw);
    if (f16c) {
        const uint16_t h = dk::float_to_half_bits(f), hw = f16_reference(f);
        if (h != hw) fail("float_to_half_bits", u, h, hw);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const bool full = argc > 1 && !std::strcmp(argv[1], "--full");
    __builtin_cpu_init();
    const bool f16c = __builtin_cpu_supports("f16c");
    if (!f16c) std::printf("no F16C on this CPU: f16 conversions not checked\n");
    uint64_t count = 0;
    if (f16c)
        for (uint32_t h = 0; h < 0x10000u; ++h, ++count) {
            const float got = dk::half_bits_to_float(uint16_t(h)), want = f16_widen_reference(uint16_t(h));
            uint32_t g, w;
            std::memcpy(&g, &got, 4);
            std::memcpy(&w, &want, 4);
            if (g != w) fail("half_bits_to_float", h, g, w);
        }
    if (full) {
        for (uint64_t u = 0; u < (1ull << 32); ++u, ++count) check(uint32_t(u), f16c);
    } else {
        // f16 rounds at bit 13, bf16 at bit 16: the values around those cuts for every upper pattern
        const uint32_t low13[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff};
        const uint32_t low16[] = {0x7fff, 0x8000, 0x8001, 0xffff, 0x17fff, 0x18000, 0x18001};
        for (uint32_t top = 0; top < (1u << 19); ++top)
            for (uint32_t l : low13) check((top << 13) | l, f16c), ++count;
        for (uint32_t top = 0; top < (1u << 16); ++top)
            for (uint32_t l : low16) check(((top << 16) | (l & 0xffffu)) + (l & 0x10000u), f16c), ++count;
        for (uint64_t u = 0; u < (1ull << 32); u += 251, ++count) check(uint32_t(u), f16c);
    }
    std::printf("conversions: %llu inputs, %d failures\n", static_cast<unsigned long long>(count), failures);
    return failures ? 1 : 0;
}
