// mma.cuh - tensor-core matrix multiply-accumulate and ldmatrix, for GEMM / attention / conv.
//
//   mma_m16n8k16<T>(d, a, b, c)   mma.sync.aligned.m16n8k16.row.col.f32.T.T.f32, T = f16 | bf16:
//                                 D (16x8 f32) = A (16x16) * B (16x8) + C, one warp
//   mma_m16n8k8_tf32(d, a, b, c)  mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32:
//                                 D (16x8 f32) = A (16x8) * B (8x8) + C, one warp
//   to_tf32(x)                    cvt.rna.tf32.f32: x rounded to tf32 (10 mantissa bits, nearest,
//                                 ties away from zero) in a b32 whose low 13 bits are zero
//   ldmatrix<N, Trans>(r, row)    ldmatrix.sync.aligned.m8n8.xN{.trans}.shared.b16, N = 1 | 2 | 4
//   MmaStep<T>                    the tensor-core step of an operand type for the kernels that
//                                 serve several: T = f16 | bf16 (m16n8k16), float (m16n8k8 tf32)
//
// Fragments are the PTX registers, with the PTX ISA's layout ("Matrix Fragments for
// mma.m16n8k16 with floating point type"). With g = lane >> 2 and t = lane % 4, and a 32-bit
// register holding two 16-bit elements (the lower-indexed in the low half):
//   A: a[r] holds row g + 8 (r & 1), columns 2t, 2t+1 (+8 for r >= 2)
//   B: b[r] holds rows (k) 2t, 2t+1 (+8 for r = 1), column (n) g
//   C, D: c[i] holds row g (+8 for i >= 2), column 2t + (i & 1)
// and for m16n8k8 .tf32, one element per register ("Matrix Fragments for mma.m16n8k8"):
//   A: a[r] holds row g + 8 (r & 1), column t + 4 (r >> 1);  B: b[r] holds row (k) t + 4r, column g
// So an 8 x 8 b16 matrix that ldmatrix reads is, on f32 data, an 8 x 4 f32 block, and lane l
// receives element (l >> 2, l % 4) of it: the A and B fragments of tf32 come from ldmatrix (no
// .trans) exactly where those of f16 do from a [row][k] tile, with 4 instead of 8 k per matrix.
// ldmatrix: lane 8j + i gives the address of row i of matrix j (16 contiguous bytes, 16-byte
// aligned); r[j] of lane l receives row l >> 2, elements 2 (l % 4) and +1 of matrix j - or, with
// .trans, elements (2 (l % 4), l >> 2) and (2 (l % 4) + 1, l >> 2).
//
// On the device these are inline PTX (sm_80+). In the emu build they are warp collectives that
// gather every lane's registers with exactly this layout, compute in f32 and scatter the result,
// so a kernel with a wrong fragment layout computes wrong results on the emulator too. The tf32
// mma refuses an operand whose low 13 bits are not zero (an f32 not converted with to_tf32: the
// hardware would read a different value than the code meant).
#pragma once

#include <cstdint>
#include <type_traits>

#include "deepkern/portable.cuh"

namespace dk {

#if defined(__CUDACC__)

template <typename T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                             const float (&c)[4]) {
    static_assert(std::is_same<T, f16>::value || std::is_same<T, bf16>::value, "mma_m16n8k16: f16 or bf16");
    if constexpr (std::is_same<T, f16>::value)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%10,%11,%12,%13};\n"
                     : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
                       "f"(c[2]), "f"(c[3]));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%10,%11,%12,%13};\n"
                     : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
                       "f"(c[2]), "f"(c[3]));
}

__device__ __forceinline__ void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                                 const float (&c)[4]) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%10,%11,%12,%13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
                   "f"(c[2]), "f"(c[3]));
}

__device__ __forceinline__ uint32_t to_tf32(float x) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
    return r;
}

template <int N, bool Trans = false>
__device__ __forceinline__ void ldmatrix(uint32_t (&r)[N], const void* row) {
    static_assert(N == 1 || N == 2 || N == 4, "ldmatrix: .x1, .x2 or .x4");
    const unsigned addr = unsigned(__cvta_generic_to_shared(row));
    if constexpr (N == 1 && !Trans)
        asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(addr));
    else if constexpr (N == 1)
        asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(addr));
    else if constexpr (N == 2 && !Trans)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
    else if constexpr (N == 2)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
                     : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
    else if constexpr (!Trans)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
    else
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

#else  // emu

namespace emu::rt {

struct MmaSlot {
    const uint32_t* a;
    const uint32_t* b;
    const float* c;
    float* d;
};

inline float mma_element(uint32_t reg, int half, f16) { return half_bits_to_float(uint16_t(reg >> (16 * half))); }
inline float mma_element(uint32_t reg, int half, bf16) { return bf16_bits_to_float(uint16_t(reg >> (16 * half))); }

// D = A B + C (m16n8kK, f32 accumulation in k order) into every lane's d registers.
template <int K>
void scatter_mma(void* const* slots, const float (&A)[16][K], const float (&B)[K][8], const float (&C)[16][8]) {
    for (int lane = 0; lane < 32; ++lane) {
        const MmaSlot& s = *static_cast<const MmaSlot*>(slots[lane]);
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 4; ++i) {
            const int m = g + 8 * (i >> 1), n = 2 * t + (i & 1);
            float acc = C[m][n];
            for (int k = 0; k < K; ++k) acc = fmaf(A[m][k], B[k][n], acc);
            s.d[i] = acc;
        }
    }
}

template <typename T>
void complete_mma(void* const* slots, unsigned) {
    float A[16][16], B[16][8], C[16][8];
    for (int lane = 0; lane < 32; ++lane) {  // gather: every operand is read before any d is written
        const MmaSlot& s = *static_cast<const MmaSlot*>(slots[lane]);
        const int g = lane >> 2, t = lane & 3;
        for (int r = 0; r < 4; ++r)
            for (int h = 0; h < 2; ++h) {
                A[g + 8 * (r & 1)][2 * t + h + 8 * (r >> 1)] = mma_element(s.a[r], h, T{});
                C[g + 8 * (r >> 1)][2 * t + (r & 1)] = s.c[r];
            }
        for (int r = 0; r < 2; ++r)
            for (int h = 0; h < 2; ++h) B[2 * t + h + 8 * r][g] = mma_element(s.b[r], h, T{});
    }
    scatter_mma(slots, A, B, C);
}

// m16n8k8 .tf32: the same gather with one element per register; an operand with low bits set is
// an f32 that missed its cvt.rna.tf32.f32.
inline float tf32_element(uint32_t reg, const char* operand, int lane, int r) {
    if (reg & 0x1fffu)
        kernel_error(std::string("mma.sync.m16n8k8 tf32: lane ") + std::to_string(lane) + "'s " + operand + "[" +
                     std::to_string(r) + "] is not a tf32 value (its low 13 bits are set: convert with to_tf32)");
    float f;
    std::memcpy(&f, &reg, 4);
    return f;
}

inline void complete_mma_tf32(void* const* slots, unsigned) {
    float A[16][8], B[8][8], C[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        const MmaSlot& s = *static_cast<const MmaSlot*>(slots[lane]);
        const int g = lane >> 2, t = lane & 3;
        for (int r = 0; r < 4; ++r) {
            A[g + 8 * (r & 1)][t + 4 * (r >> 1)] = tf32_element(s.a[r], "a", lane, r);
            C[g + 8 * (r >> 1)][2 * t + (r & 1)] = s.c[r];
        }
        for (int r = 0; r < 2; ++r) B[t + 4 * r][g] = tf32_element(s.b[r], "b", lane, r);
    }
    scatter_mma(slots, A, B, C);
}

struct LdmatrixSlot {
    const unsigned char* row;
    uint32_t* r;
};

template <int N, bool Trans>
void complete_ldmatrix(void* const* slots, unsigned) {
    auto row = [&](int j, int i) { return static_cast<const LdmatrixSlot*>(slots[8 * j + i])->row; };
    for (int j = 0; j < N; ++j)
        for (int i = 0; i < 8; ++i)
            if (reinterpret_cast<uintptr_t>(row(j, i)) % 16 != 0)
                kernel_error("ldmatrix: lane " + std::to_string(8 * j + i) +
                             " gives a row address that is not 16-byte aligned");
    uint32_t out[32][N];
    for (int lane = 0; lane < 32; ++lane)
        for (int j = 0; j < N; ++j) {
            uint16_t e[2];
            for (int h = 0; h < 2; ++h) {
                const unsigned char* p = Trans ? row(j, 2 * (lane & 3) + h) + 2 * (lane >> 2)
                                               : row(j, lane >> 2) + 2 * (2 * (lane & 3) + h);
                std::memcpy(&e[h], p, 2);
            }
            out[lane][j] = uint32_t(e[0]) | uint32_t(e[1]) << 16;
        }
    for (int lane = 0; lane < 32; ++lane)
        for (int j = 0; j < N; ++j) static_cast<LdmatrixSlot*>(slots[lane])->r[j] = out[lane][j];
}

}  // namespace emu::rt

template <typename T>
inline void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
    static_assert(std::is_same<T, f16>::value || std::is_same<T, bf16>::value, "mma_m16n8k16: f16 or bf16");
    emu::rt::MmaSlot slot{a, b, c, d};
    emu::rt::warp_collective(std::is_same<T, f16>::value ? "mma.sync.m16n8k16 f16" : "mma.sync.m16n8k16 bf16",
                             0xffffffffu, &slot, &emu::rt::complete_mma<T>);
}

inline void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
    emu::rt::MmaSlot slot{a, b, c, d};
    emu::rt::warp_collective("mma.sync.m16n8k8 tf32", 0xffffffffu, &slot, &emu::rt::complete_mma_tf32);
}

// cvt.rna.tf32.f32: adding half of the dropped range to the magnitude bits rounds to nearest with
// ties away from zero (a carry into the exponent is the next binade, or infinity past the largest
// tf32); infinities stay, a NaN stays a (quiet) NaN.
inline uint32_t to_tf32(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return (u & 0x7fffffu) ? (u | 0x400000u) & ~0x1fffu : u;
    return (u + 0x1000u) & ~0x1fffu;
}

template <int N, bool Trans = false>
inline void ldmatrix(uint32_t (&r)[N], const void* row) {
    static_assert(N == 1 || N == 2 || N == 4, "ldmatrix: .x1, .x2 or .x4");
    static constexpr const char* names[2][3] = {{"ldmatrix.x1", "ldmatrix.x2", "ldmatrix.x4"},
                                                {"ldmatrix.x1.trans", "ldmatrix.x2.trans", "ldmatrix.x4.trans"}};
    emu::rt::LdmatrixSlot slot{static_cast<const unsigned char*>(row), r};
    emu::rt::warp_collective(names[Trans][N / 2], 0xffffffffu, &slot, &emu::rt::complete_ldmatrix<N, Trans>);
}

#endif

// The tensor-core step of operand type T for kernels written once for several types: kChunk
// elements per 16-byte row of an ldmatrix matrix, kK reductions per mma; operand() prepares
// fragments as ldmatrix (or a load of the same layout) gave them - f32 is rounded to tf32 once per
// fragment, not per mma - and mma() accumulates one m16n8 tile.
template <typename T>
struct MmaStep {
    static_assert(std::is_same<T, f16>::value || std::is_same<T, bf16>::value || std::is_same<T, float>::value,
                  "MmaStep: f16, bf16 or float (tf32)");
    static constexpr bool kTf32 = std::is_same<T, float>::value;
    static constexpr int kChunk = 16 / int(sizeof(T)), kK = 2 * kChunk;

    template <int N>
    __device__ __forceinline__ static void operand(uint32_t (&r)[N]) {
        if constexpr (kTf32)
            DK_UNROLL
            for (int i = 0; i < N; ++i) r[i] = to_tf32(__uint_as_float(r[i]));
    }

    __device__ __forceinline__ static void mma(float (&acc)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
        if constexpr (kTf32)
            mma_m16n8k8_tf32(acc, a, b, acc);
        else
            mma_m16n8k16<T>(acc, a, b, acc);
    }
};

// The fragments of one MmaStep<T> from a staged tile at smem[at] with row pitch ld, for the tile
// products written once for the GEMM and the convolutions. Rows are the tile's m (A) or n (B)
// index; stored [row][red] (ldmatrix) or, KMajor, [red][row] (ldmatrix.trans; f32 by one 4-byte
// load per fragment element, there being no 32-bit ldmatrix.trans). The pitch keeps the eight
// row addresses of an ldmatrix in distinct banks (the callers' static_asserts).
//
// A, the m16 tile at rows r0 .., reductions ks ..: matrices 0 rows +0 red +0, 1 rows +8 red +0,
// 2 rows +0 red +kChunk, 3 rows +8 red +kChunk (tf32: a[r] row g + 8 (r & 1), red t + 4 (r >> 1)).
template <typename T, bool KMajor, typename Smem>
__device__ __forceinline__ void mma_a_fragment(uint32_t (&af)[4], const Smem& smem, int at, int ld, int r0, int ks) {
    using Step = MmaStep<T>;
    const int lane = threadIdx.x % 32, i = lane % 8, j = lane / 8;
    if constexpr (!KMajor)
        ldmatrix<4>(af, &smem[at + (r0 + lane % 16) * ld + ks + Step::kChunk * (lane / 16)]);
    else if constexpr (!Step::kTf32)
        ldmatrix<4, true>(af, &smem[at + (ks + i + 8 * (j >> 1)) * ld + r0 + 8 * (j & 1)]);
    else
        DK_UNROLL
        for (int r = 0; r < 4; ++r)
            af[r] = __float_as_uint(smem[at + (ks + lane % 4 + 4 * (r >> 1)) * ld + r0 + lane / 4 + 8 * (r & 1)]);
    Step::operand(af);
}

// B, the two n8 tiles at rows (columns of the product) c0 .., c0 + 8 .., reductions ks ..: bf[0..1]
// the first tile's fragment, bf[2..3] the second's (matrices 0 n +0 red +0, 1 n +0 red +kChunk,
// 2 n +8 red +0, 3 n +8 red +kChunk; tf32: n8 tile q >> 1, b[q & 1] red t + 4 (q & 1), column g).
template <typename T, bool KMajor, typename Smem>
__device__ __forceinline__ void mma_b_fragments(uint32_t (&bf)[4], const Smem& smem, int at, int ld, int c0, int ks) {
    using Step = MmaStep<T>;
    const int lane = threadIdx.x % 32, i = lane % 8, j = lane / 8;
    if constexpr (!KMajor)
        ldmatrix<4>(bf, &smem[at + (c0 + 8 * (j >> 1) + i) * ld + ks + Step::kChunk * (j & 1)]);
    else if constexpr (!Step::kTf32)
        ldmatrix<4, true>(bf, &smem[at + (ks + i + 8 * (j & 1)) * ld + c0 + 8 * (j >> 1)]);
    else
        DK_UNROLL
        for (int q = 0; q < 4; ++q)
            bf[q] = __float_as_uint(smem[at + (ks + lane % 4 + 4 * (q & 1)) * ld + c0 + 8 * (q >> 1) + lane / 4]);
    Step::operand(bf);
}

}  // namespace dk
