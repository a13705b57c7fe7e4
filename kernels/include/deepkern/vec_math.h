// deepkern/vec_math.h - f32 elementary functions for host loops (the cpu backend and the
// emulator's host-compiled kernels, through math.cuh), written so that GCC -O3 vectorizes a loop
// that calls them in every copy of native/cpu/isa_variants.h: no branches on data (every special
// case is a select, select_f32), no library calls, integers reached through bit copies rather
// than float-to-int conversions (undefined for NaN and out-of-range values), everything
// always_inline so that each ISA copy compiles its own.
//
// Exponential core, exp_parts(hi, lo) = (1 + q) 2^k for an argument carried as hi + lo: k =
// round((hi + lo) log2 e), r = ((hi - k ln2_hi) + lo) - k ln2_lo, q = expm1(r) = r + r^2 P(r), P of
// degree 5 (the Cephes expf coefficients), |r| <= ln2/2 + |lo|. ln2_hi has 9 bits, so k ln2_hi is
// exact and so is hi - k ln2_hi (both lie on the coarser one's grid and the difference is < 1).
// Callers fold their factors in as c + c q (one rounding) and apply 2^k last with scale_f32, as two
// normal powers of two, so that a result in the subnormal range is rounded once.
//   exp_f32    = (1 + q) 2^k
//   expm1_f32  = 2^k (q + (1 - 2^-k))                                  (1 - 2^-k exact for |k| <= 24)
//   log1p_f32  = log(u) + c / u with u + c = 1 + x exactly (TwoSum), u = 2^e m,
//                m in [sqrt2/2, sqrt2): log m = f - (f^2/2 - s (f^2/2 + R(s^2))), s = f / (2 + f)
//                (the FreeBSD k_log1pf coefficients)
//   tanh_f32   = -t / (t + 2), t = expm1(-2|x|), with the sign of x (relative accuracy near 0)
//   erfc_f32   = exp(-z^2) g(z), g(z) = erfc(z) e^(z^2) = 2 / (1 + 2z) Y(t), t = (z - 1.5) / (z + 1.5),
//                Y of degree 12 fitted for relative error 2^-29 on z in [0, 10.7] (Schonfelder's
//                transform; of the forms tried it gave GELU the smallest error: Y(t) / (z + 1.5)
//                of degree 11 costs 0.4 ulp more, t = 1 - 3 / (z + 1.5) with one division 1 ulp
//                more); -z^2 enters exp_parts as hi + lo, z split into a 12-bit head and the
//                rest, so that the head's square is exact. erfc(-z) = 2 - erfc(z); 1 - erf(x) for
//                |x| < 0.47, where the Horner sum near t = -1 would cost ~3 ulp.
//   erf_f32    = x + x Q(x^2) for |x| < 0.875 (Q of degree 6, 2^-30), 1 - erfc(|x|) beyond.
//   normal_cdf = Phi(-|x|) for x < 0, 1 - that for x >= 0, Phi(-a) = exp(-a^2/2) g(a) (phi_parts):
//                g = Y(u) / (1.5625 (a + 2.5)), u = 1.3125 (a - 2.5) / (a + 2.5), Y of degree 11
//                (relative 2^-26 with f32 coefficients), no second form near 0; a = |x| is exact, so
//                the exponent needs only a's 12-bit head split (no scaled argument to carry as
//                hi + lo, as erfc(|x| / sqrt2) would need).
//   gelu_f32   = x Phi(x): -|x| Phi(-|x|) for x < 0, x - |x| Phi(-|x|) for x >= 0 (one rounding);
//                gelu_grad_f32 = Phi + x phi with phi from the same exponential.
//   sigmoid / x sigmoid(v) (silu, gelu_tanh): exp(-|v|) = (1 + q) 2^k, sigmoid(v) = (1 + q) 2^k /
//                (1 + e) for v < 0 (scaled once, so the underflowing tail stays relative-accurate)
//                and 1 / (1 + e) for v >= 0. gelu_tanh's v = 2u = x (c1 + c2 x^2), c1 = sqrt(8/pi),
//                c2 = 0.044715 c1, is formed as hi + lo the same way (12-bit heads of x, x^2, c2 and
//                the sum, TwoSum for c1 + c2 x^2).
// Special values: NaN gives NaN; +-inf and the overflow/underflow ranges give the limits, except
// that x f(x) with f -> 0 (gelu, gelu_tanh, silu) is NaN at -inf, as torch computes it.
//
// FMA contraction. GCC contracts a * b + c to an FMA in the AVX2 and AVX-512 copies
// (-ffp-contract=fast) but not in the SSE2 one. Every error-free step here is written so that
// contraction cannot change it: each product that feeds one (k ln2_hi, the squares and products
// of 12-bit heads made by masking mantissa bits, head_f32) is exact, and fma(a, b, c) with an
// exact a b rounds exactly as a b + c does; the TwoSum / Fast2Sum steps have no products. So no
// step relies on an intermediate rounding that an FMA would skip (as Dekker's or Veltkamp's
// splitting by multiplication would), no per-ISA template parameter is needed, and the copies
// differ only in the last bits of the polynomials, which the test measures per copy.
//
// Measured max error in ulp (units of the f32 spacing at the exact value, 2^-149 for subnormal
// results; the gradients' near their roots in units of the spacing at the sum of their terms'
// magnitudes) against glibc's double functions (< 1 ulp in double, so their f32 rounding is
// correct except where the double result lies within ~1e-16 relative of an f32 rounding
// boundary, vanishingly rare) through vec_math_test's loops, per ISA copy, GCC 12 -O3, Xeon
// Sapphire Rapids, 2026-12-06. "all" = every one of the 2^32 inputs (vec_math_test --full),
// "1/127" = every 127th bit pattern (33.8 million, the test's default run):
//                     sse2   avx2 avx512    inputs   bound asserted by vec_math_test
//   exp               0.95   1.00   1.00    1/127    1.5
//   expm1             1.53   1.41   1.41    1/127    2.3
//   log1p             0.83   0.74   0.74    1/127    1.5
//   tanh              2.48   2.48   2.48    1/127    3.3
//   erf               0.96   0.94   0.94    1/127    1.8
//   erfc              2.94   3.00   3.00    1/127    3.8
//   normal_cdf        2.64   2.64   2.64    1/127    3.5
//   gelu              3.14   2.98   2.98    all      3.5
//   gelu_grad         3.52   3.38   3.38    1/127    4.3
//   gelu_tanh         2.50   2.39   2.39    1/127    3.3
//   gelu_tanh_grad    4.77   4.88   4.88    1/127    5.7
//   sigmoid           2.25   2.25   2.25    1/127    3.0
//   silu              2.47   2.42   2.42    1/127    3.2
// The full sweep of gelu found its maxima at x = -0.138 (sse2) and -0.137 (avx2, avx512), 0.42
// and 0.30 above the strided sweep's; the other rows are the strided sweep, whose bounds keep a
// 0.8 ulp margin (an earlier GELU's and Phi's full maxima were 0.55 and 0.74 above their strided
// ones); their full sweeps did not finish in the time this work had on a shared 2-core machine.
//
// Own functions, not glibc's libmvec or SLEEF (native/tests/vec_math_bench, same machine, one
// thread, 32768-element arrays: ns per element, the median of 4 runs on a 2-core machine loaded
// ~6x by other builds, so absolute values are inflated and +-50%; ulp over every 127th input,
// the worst ISA copy / libmvec variant; "libmvec" = _ZGVbN4v (SSE) / _ZGVdN8v (AVX2) /
// _ZGVeN16v (AVX-512) called on whole vectors, "libm" = the scalar function in a loop):
//              own sse2/avx2/avx512 ns   libmvec b4/d8/e16 ns   libm ns   max ulp own / libmvec / libm
//   exp          14.0   6.1   3.1         5.5   2.5   2.1         17.0      1.01 / 2.72 / 0.50
//   expm1        14.6   3.1   2.8        11.1   7.0   1.4         69.2      1.53 / 2.31 / 0.78
//   log1p        15.6   7.2   5.8        11.8   4.0   2.2         63.0      0.83 / 2.03 / 0.83
//   tanh         14.8   6.7   3.6         8.5   4.2   2.3        111.7      2.48 / 1.35 / 2.13
//   erf          82.6  11.0   6.0         8.1   5.5   5.3         97.5      0.96 / 4.00 / 0.89
//   erfc         48.9  47.9  30.5        20.0  12.9  11.6        110.5      3.00 / 1.65 / 2.81
//   gelu          3.3   1.16  0.87         -     -    0.48        13.9      2.72 / 195  / 195
// (gelu's row: the current form, measured alone on the unloaded machine, so not comparable with
// the rows above; the form before it ran 4.77 / 1.79 / 1.19 ns in the same run. gelu through
// libmvec/libm: 0.5 x erfcf(-x / sqrt2). Own erf and erfc compute both the
// small-argument and the tail form for every element, gelu one form; erfc in this benchmark's
// [-10, 10] also makes subnormal results near 10, a microcode assist per vector.)
// libmvec is up to 2-3x faster (erf, erfc, gelu) and its erfc and tanh are more accurate, but
// (1) it takes one f32 argument: GELU's lower tail needs erfc of hi + lo, and 0.5 x erfcf(-x/sqrt2) through libmvec is
// 195 ulp off at x = -13 (the argument's rounding, times 2z^2); (2) its erf/erfc/tanh/expm1/log1p
// variants exist from glibc 2.35 only (expf from 2.22), so the library would not load on older
// systems; (3) a call per vector cannot be inlined or fused into the backend's loops (bias, dtype
// conversion, the gradient's product), and GCC calls it by itself only under -ffast-math, so
// every ISA copy would need hand-written calls; (4) the emulator and the cpu backend would differ
// from each other on machines without it. SLEEF (u10 functions documented at 1 ulp) is not
// installed here; Debian ships it only as a shared library, which would have to travel inside the
// jar, and it has the same one-argument limit (1) and call boundary (3). Not measured.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#define DK_VM_INLINE inline __attribute__((always_inline))

namespace dk::cpu {

DK_VM_INLINE float vm_bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

DK_VM_INLINE uint32_t vm_float_to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// Below the first exp(x) < 2^-150, half the least subnormal: it rounds to 0 (the threshold is
// -150 ln 2 = -103.97...). Above the second exp(x) > FLT_MAX (from ln FLT_MAX = 88.72...). Between
// those thresholds and these bounds the scaling itself rounds to 0 or overflows to inf.
constexpr float kExpUnderflow = -104.0f;
constexpr float kExpOverflow = 89.0f;

// c ? a : b as bit operations: GCC keeps a float ternary as control flow and then specializes
// the code after it for the constant arm, which leaves possibly-trapping operations in branches
// that if-conversion may not flatten (without -fno-trapping-math); a mask cannot be specialized.
DK_VM_INLINE float select_f32(bool c, float a, float b) {
    const uint32_t m = 0u - uint32_t(c);
    return vm_bits_to_float((vm_float_to_bits(a) & m) | (vm_float_to_bits(b) & ~m));
}

DK_VM_INLINE int32_t select_i32(bool c, int32_t a, int32_t b) {
    const int32_t m = -int32_t(c);
    return (a & m) | (b & ~m);
}

// lo <= x <= hi ? x : the bound; NaN stays NaN (both comparisons are false).
DK_VM_INLINE float clamp_f32(float x, float lo, float hi) { return select_f32(x < lo, lo, select_f32(x > hi, hi, x)); }

DK_VM_INLINE float abs_f32(float x) { return vm_bits_to_float(vm_float_to_bits(x) & 0x7fffffffu); }

// |mag| with the sign bit of sgn or'ed in: for results whose sign is that of the input.
DK_VM_INLINE float or_sign_f32(float mag, float sgn) {
    return vm_bits_to_float(vm_float_to_bits(mag) | (vm_float_to_bits(sgn) & 0x80000000u));
}

// The leading 12 significant bits of x (the low 12 mantissa bits cleared): the product of two
// heads has at most 24 bits and is exact, and x - head_f32(x) is exact.
DK_VM_INLINE float head_f32(float x) { return vm_bits_to_float(vm_float_to_bits(x) & 0xfffff000u); }

// 2^k for k in [-126, 127].
DK_VM_INLINE float pow2_f32(int32_t k) { return vm_bits_to_float(uint32_t(k + 127) << 23); }

// y 2^k for k in [-252, 254], as two normal powers of two: the second product rounds once.
DK_VM_INLINE float scale_f32(float y, int32_t k) {
    const int32_t k1 = k >> 1, k2 = k - k1;
    return y * pow2_f32(k1) * pow2_f32(k2);
}

// exp(hi + lo) = (1 + q) 2^k, q = expm1(r) in [-0.30, 0.42] (a little wider by |lo|). hi + lo in
// [-175, 89] keeps k in scale_f32's range; |lo| small against 1. Kept as q so that a factor c
// enters as c + c q (times_exp), one rounding under FMA, instead of rounding 1 + q first.
struct ExpParts {
    float q;
    int32_t k;
};

DK_VM_INLINE ExpParts exp_parts(float hi, float lo) {
    constexpr float log2e = 1.44269504088896341f;
    constexpr float ln2_hi = 0.693359375f;      // 355/512: k * ln2_hi is exact for |k| < 2^15
    constexpr float ln2_lo = -2.12194440e-4f;   // ln 2 - ln2_hi
    constexpr float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    // k = round((hi + lo) log2 e), read as an integer from the low mantissa bits of the biased sum
    const float biased = (hi + lo) * log2e + round_magic;
    const float k = biased - round_magic;
    const int32_t ki = int32_t(vm_float_to_bits(biased) - vm_float_to_bits(round_magic));
    const float r = (hi - k * ln2_hi) + (lo - k * ln2_lo);  // the last addition the one rounding that counts
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return {p * (r * r) + r, ki};
}

// c (1 + q), the 2^k left to scale_f32.
DK_VM_INLINE float times_exp(float c, const ExpParts& e) { return c + c * e.q; }

DK_VM_INLINE float exp_f32(float x) {
    const ExpParts e = exp_parts(clamp_f32(x, kExpUnderflow, kExpOverflow), 0.0f);
    const float y = scale_f32(e.q + 1.0f, e.k);
    const float inf = std::numeric_limits<float>::infinity();
    return select_f32(x < kExpUnderflow, 0.0f, select_f32(x > kExpOverflow, inf, y));
}

DK_VM_INLINE float expm1_f32(float x) {
    // below -25 expm1 rounds to -1 (e^-25 < 2^-36); above 89 the scaling overflows to inf
    const float xc = clamp_f32(x, -25.0f, kExpOverflow);
    const ExpParts e = exp_parts(xc, 0.0f);  // k in [-36, 128]
    // 1 - 2^-k: exact for k in [-24, 24]; past 24 it is 1 to f32 precision (2^-100 stands in)
    const float one_minus = 1.0f - pow2_f32(-select_i32(e.k > 100, 100, e.k));
    const float y = scale_f32(e.q + one_minus, e.k);
    return or_sign_f32(y, x);  // expm1 has the sign of x, -0 included
}

DK_VM_INLINE float log1p_f32(float x) {
    constexpr float ln2_hi = 6.9313812256e-01f;  // 17 bits: e * ln2_hi is exact for |e| <= 128
    constexpr float ln2_lo = 9.0580006145e-06f;
    constexpr float lg1 = 0.66666662693f, lg2 = 0.40000972152f, lg3 = 0.28498786688f, lg4 = 0.24279078841f;
    const float fmax = std::numeric_limits<float>::max();
    const float xc = select_f32(x > fmax, fmax, x);
    // u + c = 1 + xc exactly (TwoSum: no products, so contraction cannot touch it)
    const float u = 1.0f + xc;
    const float bv = u - 1.0f;
    const float c = (1.0f - (u - bv)) + (xc - bv);
    // u = 2^e m, m in [sqrt2/2, sqrt2)
    const uint32_t iu = vm_float_to_bits(u) - vm_float_to_bits(0.70710678f);
    const int32_t e = int32_t(iu) >> 23;
    const float m = vm_bits_to_float((iu & 0x007fffffu) + vm_float_to_bits(0.70710678f));
    const float f = m - 1.0f;  // exact (Sterbenz)
    const float s = f / (2.0f + f);
    const float z = s * s, w = z * z;
    const float big_r = z * (lg1 + w * lg3) + w * (lg2 + w * lg4);
    const float hfsq = 0.5f * f * f;
    const float ef = float(e);
    const float y = ef * ln2_hi + (f - (hfsq - (s * (hfsq + big_r) + (ef * ln2_lo + c / u))));
    const float inf = std::numeric_limits<float>::infinity();
    const float ys = or_sign_f32(y, x);  // log1p has the sign of x, -0 included
    return select_f32(x == -1.0f, -inf,
                      select_f32(x > fmax, inf, select_f32(x >= -1.0f, ys, std::numeric_limits<float>::quiet_NaN() + x)));
}

DK_VM_INLINE float tanh_f32(float x) {
    const float t = expm1_f32(-2.0f * abs_f32(x));  // in [-1, 0]
    return or_sign_f32(-t / (t + 2.0f), x);
}

// erfc(a + b) for a + b in [0, 10.7], |b| small against a (|b| <= 2^-11 a): e = exp(-(a+b)^2)
// and g = erfc e^((a+b)^2), so that erfc = times_exp(g, e) 2^k and the Gaussian density is
// times_exp(1, e) 2^k / sqrt(pi).
struct ErfcParts {
    ExpParts e;
    float g;
};

DK_VM_INLINE ErfcParts erfc_parts(float a, float b) {
    const float s = a + b;
    const float d = (a - s) + b;  // Fast2Sum: s + d = a + b exactly
    const float sh = head_f32(s);
    const float sl = (s - sh) + d;
    // -(a+b)^2 = -sh^2 - sl (2 sh + sl): the head's square is exact
    const ExpParts e = exp_parts(-(sh * sh), -(sl * (sh + s)));
    // g is evaluated at sm, s cut to 16 bits, so that 1 + 2 sm and sm +- 1.5 are exact (for s >= 2^-2,
    // where it is used), and corrected to first order for the rest dm (|dm| < 2^-15 s)
    const float sm = vm_bits_to_float(vm_float_to_bits(s) & 0xffffff80u);
    const float dm = (s - sm) + d;
    const float t = (sm - 1.5f) / (sm + 1.5f);
    float y = -2.00375907e-05f;
    y = y * t - 1.13963950e-04f;
    y = y * t - 1.75212539e-04f;
    y = y * t + 2.26835677e-04f;
    y = y * t + 1.16348709e-03f;
    y = y * t + 9.22251551e-04f;
    y = y * t - 3.68803553e-03f;
    y = y * t - 9.01574735e-03f;
    y = y * t + 1.05088018e-02f;
    y = y * t + 5.70529439e-02f;
    y = y * t - 1.18868776e-01f;
    y = y * t - 1.69812590e-02f;
    y = y * t + 6.43170834e-01f;
    const float g = 2.0f * y / (1.0f + 2.0f * sm);
    // g(sm + dm) = g(sm) + dm g'(sm), g'(z) = 2 z g(z) - 2 / sqrt(pi)
    return {e, g + dm * (2.0f * sm * g - 1.12837917f)};
}

constexpr float kErfcMaxArg = 10.7f;  // erfc(10.7) < 2^-170: 0 in f32

// erf(x) for |x| < 0.875: x + x Q(x^2), Q of degree 6 (relative error 2^-30).
DK_VM_INLINE float erf_small(float x) {
    const float s = x * x;
    float q = 8.446753054e-05f;
    q = q * s - 8.154986426e-04f;
    q = q * s + 5.201485939e-03f;
    q = q * s - 2.685924619e-02f;
    q = q * s + 1.128368378e-01f;
    q = q * s - 3.761263192e-01f;
    q = q * s + 1.283791661e-01f;  // 2/sqrt(pi) - 1: the leading 1 is added exactly below
    return x + x * q;
}

// Below this |x| (where erf is < 1/2) 1 - erf does not cancel and is the more accurate form near
// 0, where erfc_parts' Horner sum near t = -1 costs ~3 ulp.
constexpr float kErfcSmall = 0.47f;

DK_VM_INLINE float erf_f32(float x) {
    const float a = abs_f32(x);
    const ErfcParts p = erfc_parts(select_f32(a > kErfcMaxArg, kErfcMaxArg, a), 0.0f);
    const float big = or_sign_f32(1.0f - scale_f32(times_exp(p.g, p.e), p.e.k), x);
    return select_f32(a < 0.875f, erf_small(x), big);
}

DK_VM_INLINE float erfc_f32(float x) {
    const float a = abs_f32(x);
    const ErfcParts p = erfc_parts(select_f32(a > kErfcMaxArg, kErfcMaxArg, a), 0.0f);
    const float v = scale_f32(times_exp(p.g, p.e), p.e.k);
    return select_f32(a < kErfcSmall, 1.0f - erf_small(x), select_f32(x < 0.0f, 2.0f - v, v));
}

// Phi(-a) for a in [0, kPhiMaxArg] as e g: e = exp(-a^2/2) (kept as ExpParts, the 2^k for the
// caller to apply last) and g(a) = Phi(-a) e^(a^2/2) = Y(u) / (1.5625 (a + 2.5)), u = 1.3125 (a - 2.5)
// / (a + 2.5), Y of degree 11 fitted for relative error 2^-26 with f32 coefficients on [0, 15] (the
// transform's coefficients decay, so Horner's sum is about its last terms; the two scales keep Y in
// [0.72, 1.96), where its roundings are smallest relative to it). a itself is exact, so -a^2/2 =
// -(a1^2 + a2 (a1 + a)) / 2 from its 12-bit head a1 (exact square). u and Y are evaluated at am, a on
// a 2^-14 grid so that am +- 2.5 and 1.5625 (am + 2.5) are exact, and g is corrected to first order
// for dm = a - am (|dm| <= 2^-15, g' = a g - 1/sqrt(2 pi)): g = (1 + y + dy) / d, y = Y - 1,
// d = 1.5625 (am + 2.5), dy = dm (am Y - d / sqrt(2 pi)), kept apart so that a caller folds a factor
// into the numerator with one rounding before the one division.
constexpr float kPhiMaxArg = 15.0f;  // 15 Phi(-15) and 15^2 Phi(-15) < 2^-150: 0 in f32
constexpr float kInvSqrt2Pi = 0.398942280f;

// |x| clamped to phi_parts' domain; NaN stays NaN.
DK_VM_INLINE float phi_arg(float x) { return select_f32(abs_f32(x) > kPhiMaxArg, kPhiMaxArg, abs_f32(x)); }

// (Flat fields, as SigmoidParts': a nested ExpParts kept the loops from vectorizing.)
struct PhiParts {
    float q;
    int32_t k;
    float y, dy, d;
    DK_VM_INLINE ExpParts e() const { return {q, k}; }
    // Y (1 + q) - 1, Y = 1 + y + dy: the exponential folded into the numerator ahead of its leading
    // 1 and of the caller's factor, so that neither rounds at the result's magnitude once more
    DK_VM_INLINE float yq() const {
        const float v = y + dy;
        return v + q * (1.0f + v);
    }
};

DK_VM_INLINE PhiParts phi_parts(float a) {
    constexpr float c = 2.5f;
    const float a1 = head_f32(a), a2 = a - a1;
    const ExpParts e = exp_parts(-0.5f * (a1 * a1), -0.5f * (a2 * (a1 + a)));
    const float am = (a + 512.0f) - 512.0f;
    const float d = 1.5625f * (am + c);
    const float u = (am - c) * (2.05078125f / d);  // 1.3125 * 1.5625: the division rounds once
    float y = 6.048772320e-06f;
    y = y * u + 9.204869457e-06f;
    y = y * u - 3.682662282e-05f;
    y = y * u - 7.897969044e-05f;
    y = y * u + 1.748421346e-04f;
    y = y * u + 7.930302527e-04f;
    y = y * u - 6.497502909e-04f;
    y = y * u - 8.635872975e-03f;
    y = y * u + 6.384375971e-03f;
    y = y * u + 1.197171211e-01f;
    y = y * u - 5.163001418e-01f;
    y = y * u + 1.04151011e-01f;  // Y - 1: the leading 1 is added by the caller, after its factor
    return {e.q, e.k, y, (a - am) * (am * (1.0f + y) - d * kInvSqrt2Pi), d};
}

// y 2^k for k in [-190, 63] (phi_parts' exponents lie in [-163, 0]): y 2^(k+64) is exact (a normal
// power of two), the product by 2^-64 the one rounding. Cheaper than scale_f32's two powers.
DK_VM_INLINE float scale_down_f32(float y, int32_t k) { return y * pow2_f32(k + 64) * 5.42101086e-20f; }

// Phi(x): Phi(-|x|) for x < 0, 1 - Phi(-|x|) for x >= 0.
DK_VM_INLINE float normal_cdf_f32(float x) {
    const float a = phi_arg(x);
    const PhiParts p = phi_parts(a);
    const float lower = scale_down_f32((1.0f + p.yq()) / p.d, p.k);
    return select_f32(x < 0.0f, lower, 1.0f - lower);  // NaN: 1 - NaN
}

// x f(x) for a factor f that underflows to 0 as x -> -inf is NaN at -inf, as torch's x * f(x) and
// the device path give it; the clamped forms here would give the limit 0.
DK_VM_INLINE float nan_at_minus_inf(float x, float y) {
    return select_f32(x == -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), y);
}

// gelu(x) = x Phi(x): -|x| Phi(-|x|) for x < 0, x - |x| Phi(-|x|) for x >= 0 (one rounding each).
// -0 gives -0 (x - t with t = +0), NaN gives NaN (x - t).
DK_VM_INLINE float gelu_f32(float x) {
    const float a = phi_arg(x);
    const PhiParts p = phi_parts(a);
    const float t = scale_down_f32((a + a * p.yq()) / p.d, p.k);  // |x| Phi(-|x|)
    return nan_at_minus_inf(x, select_f32(x < 0.0f, -t, x - t));
}

// gelu'(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi) from the same exponential:
// |x| phi(|x|) - Phi(-|x|) = e (|x| / sqrt(2 pi) - g), scaled once; minus that for x < 0, 1 + it
// for x >= 0.
DK_VM_INLINE float gelu_grad_f32(float x) {
    const float a = phi_arg(x);
    const PhiParts p = phi_parts(a);
    const float d = scale_down_f32(times_exp((((a * p.d) * kInvSqrt2Pi - 1.0f) - (p.y + p.dy)) / p.d, p.e()), p.k);
    return nan_at_minus_inf(x, select_f32(x < 0.0f, -d, 1.0f + d));
}

// c sigmoid(v) for v = hi + lo, |v| <= 150: exp(-|v|) = (1 + q) 2^k, e its value, den = 1 + e;
// c sigmoid(v) = times_exp(c) / den 2^k for v < 0 and c / den for v >= 0 (times).
// (Flat fields: a nested ExpParts kept GCC from splitting the struct, and the loop from vectorizing.)
struct SigmoidParts {
    float q, e, den;
    int32_t k;
    bool neg;
    DK_VM_INLINE float times(float c) const {
        return scale_f32(select_f32(neg, c + c * q, c) / den, select_i32(neg, k, 0));
    }
};

DK_VM_INLINE SigmoidParts sigmoid_parts(float hi, float lo) {
    const bool neg = hi < 0.0f;
    const float minus_abs = select_f32(neg, hi, -hi);
    const ExpParts p = exp_parts(minus_abs, select_f32(neg, lo, -lo));  // exp(-|v|)
    // exp(-|v|) below e^-69 (2^-99.5) is 0 here: only 1 + e and e x v' (|x v'| < 2^9) use it, and a
    // subnormal intermediate would cost a microcode assist per vector. NaN stays NaN.
    const bool tiny = minus_abs < -69.0f;
    const float e = select_f32(tiny, 0.0f, scale_f32(1.0f + p.q, select_i32(tiny, 0, p.k)));
    return {p.q, e, 1.0f + e, p.k, neg};
}

constexpr float kSigmoidMaxArg = 150.0f;  // sigmoid(-150) < 2^-216: 0 in f32

DK_VM_INLINE float sigmoid_f32(float x) {
    return sigmoid_parts(clamp_f32(x, -kSigmoidMaxArg, kSigmoidMaxArg), 0.0f).times(1.0f);
}

// x sigmoid(x).
DK_VM_INLINE float silu_f32(float x) {
    const float xc = clamp_f32(x, -kSigmoidMaxArg, kSigmoidMaxArg);
    return nan_at_minus_inf(x, sigmoid_parts(xc, 0.0f).times(select_f32(x < 0.0f, xc, x)));
}

// gelu_tanh's argument 2u = x (c1 + c2 x^2) as hi + lo, for |x| <= 11.5 (|2u| <= 127).
struct HiLo {
    float hi, lo;
};

DK_VM_INLINE HiLo gelu_tanh_arg(float x) {
    constexpr float c1 = 1.59576917f, c1_lo = -4.53406805e-08f;              // sqrt(8/pi) = c1 + c1_lo
    constexpr float c2 = 7.13548139e-02f;                                     // 0.044715 sqrt(8/pi)
    constexpr float c2_hi = 7.135009765625e-02f, c2_lo = 4.71861631e-06f;         // c2_hi: 12 bits
    const float x1 = head_f32(x), x2 = x - x1;
    const float q_hi = x1 * x1;                    // exact
    const float q_lo = x2 * (x1 + x);              // x^2 - q_hi
    const float q1 = head_f32(q_hi), q2 = q_hi - q1;
    const float p_hi = c2_hi * q1;                 // exact
    const float p_lo = c2_hi * q2 + c2_lo * q_hi + c2 * q_lo;
    // w = c1 + c2 x^2 = w_hi + w_lo (TwoSum of c1 and the exact p_hi)
    const float w_hi = c1 + p_hi;
    const float bv = w_hi - c1;
    const float w_lo = ((c1 - (w_hi - bv)) + (p_hi - bv)) + (p_lo + c1_lo);
    const float w1 = head_f32(w_hi), w2 = w_hi - w1;
    return {x1 * w1, x1 * w2 + x2 * w_hi + x * w_lo};  // x w, the head product exact
}

constexpr float kGeluTanhMaxArg = 11.5f;  // gelu_tanh(-11.5) < 2^-180: 0 in f32

// gelu_tanh(x) = x sigmoid(2u).
DK_VM_INLINE float gelu_tanh_f32(float x) {
    const float xc = clamp_f32(x, -kGeluTanhMaxArg, kGeluTanhMaxArg);
    const HiLo v = gelu_tanh_arg(xc);
    return nan_at_minus_inf(x, sigmoid_parts(v.hi, v.lo).times(select_f32(x < 0.0f, xc, x)));
}

// d/dx x s(v) = s + x v' s (1 - s), v' = c1 (1 + 3 * 0.044715 x^2); s (1 - s) = e / (1 + e)^2.
DK_VM_INLINE float gelu_tanh_grad_f32(float x) {
    constexpr float c1 = 1.59576917f, c2x3 = 0.214064449f;  // 3 * 0.044715 sqrt(8/pi)
    const float xc = clamp_f32(x, -kGeluTanhMaxArg, kGeluTanhMaxArg);
    const HiLo v = gelu_tanh_arg(xc);
    const SigmoidParts s = sigmoid_parts(v.hi, v.lo);
    const float xdv = xc * (c1 + c2x3 * xc * xc) / s.den;  // x v' / (1 + e)
    // v < 0: s = m 2^k / den, grad = s (1 + x v' / den); v >= 0: grad = 1 / den + e x v' / den^2
    const float lower = s.times(1.0f + xdv);
    const float upper = 1.0f / s.den + s.e * xdv / s.den;
    return select_f32(v.hi < 0.0f, lower, upper);
}

// log u for a normal u in (0, 1] (randn's uniforms): u = m 2^e with m in [sqrt(1/2), sqrt(2)),
// log(1 + f), f = m - 1, as f - f^2 / 2 + f^3 P(f) (Cephes logf's P of degree 8, about 1 ulp), plus
// e ln 2 in two parts. Zero, subnormals, inf and NaN are outside its domain.
DK_VM_INLINE float log_unit_f32(float u) {
    const uint32_t bits = vm_float_to_bits(u);
    // m in [sqrt(1/2), sqrt(2)): the exponent taken from the bits of u / sqrt(1/2)'s range
    const uint32_t shifted = bits + (0x3f800000u - 0x3f3504f3u);  // moves sqrt(1/2) to 1.0
    const int32_t e = int32_t(shifted >> 23) - 127;
    const float m = vm_bits_to_float((shifted & 0x007fffffu) + 0x3f3504f3u);
    const float f = m - 1.0f, z = f * f;
    float p = 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    const float ef = float(e);
    const float y = f * z * p + ef * -2.12194440e-4f - 0.5f * z;
    return (f + y) + ef * 0.693359375f;
}

// sin and cos of 2 pi t for t in [0, 1], reduced in turns exactly: q = round(4 t), r = t - q / 4 in
// [-1/8, 1/8] (exact by Sterbenz), then Taylor polynomials of sin(2 pi r) (to r^11) and cos(2 pi r)
// (to r^12), truncation below 1e-11, and the quadrant q by selects. Reducing in turns skips the
// rounding of an f32 angle 2 pi t.
DK_VM_INLINE void sincos_turns_f32(float t, float& s, float& c) {
    constexpr float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const float biased = t * 4.0f + round_magic;
    const float qf = biased - round_magic;
    const uint32_t q = vm_float_to_bits(biased) & 3u;
    const float r = t - qf * 0.25f, r2 = r * r;
    constexpr double tau = 6.283185307179586476925;
    float ps = float(-tau * tau * tau * tau * tau * tau * tau * tau * tau * tau * tau / 39916800.0);
    ps = ps * r2 + float(tau * tau * tau * tau * tau * tau * tau * tau * tau / 362880.0);
    ps = ps * r2 + float(-tau * tau * tau * tau * tau * tau * tau / 5040.0);
    ps = ps * r2 + float(tau * tau * tau * tau * tau / 120.0);
    ps = ps * r2 + float(-tau * tau * tau / 6.0);
    const float sr = r * float(tau) + r * r2 * ps;
    float pc = float(tau * tau * tau * tau * tau * tau * tau * tau * tau * tau * tau * tau / 479001600.0);
    pc = pc * r2 + float(-tau * tau * tau * tau * tau * tau * tau * tau * tau * tau / 3628800.0);
    pc = pc * r2 + float(tau * tau * tau * tau * tau * tau * tau * tau / 40320.0);
    pc = pc * r2 + float(-tau * tau * tau * tau * tau * tau / 720.0);
    pc = pc * r2 + float(tau * tau * tau * tau / 24.0);
    pc = pc * r2 + float(-tau * tau / 2.0);
    const float cr = 1.0f + r2 * pc;
    // angle = q pi / 2 + 2 pi r: q odd swaps sin and cos, q = 1, 2 negates cos, q = 2, 3 sin
    const bool odd = (q & 1u) != 0;
    const float sv = select_f32(odd, cr, sr), cv = select_f32(odd, sr, cr);
    s = vm_bits_to_float(vm_float_to_bits(sv) ^ ((q & 2u) << 30));
    c = vm_bits_to_float(vm_float_to_bits(cv) ^ (((q + 1u) & 2u) << 30));
}

}  // namespace dk::cpu
