// mma.cuh - tensor-core matrix multiply-accumulate and ldmatrix, for GEMM / attention / conv.
//
//   mma_m16n8k16<T>(d, a, b, c)   mma.sync.aligned.m16n8k16.row.col.f32.T.T.f32, T = f16 | bf16:
//                                 D (16x8 f32) = A (16x16) * B (16x8) + C, one warp
//   ldmatrix<N, Trans>(r, row)    ldmatrix.sync.aligned.m8n8.xN{.trans}.shared.b16, N = 1 | 2 | 4
//
// Fragments are the PTX registers, with the PTX ISA's layout ("Matrix Fragments for
// mma.m16n8k16 with floating point type"). With g = lane >> 2 and t = lane % 4, and a 32-bit
// register holding two 16-bit elements (the lower-indexed in the low half):
//   A: a[r] holds row g + 8 (r & 1), columns 2t, 2t+1 (+8 for r >= 2)
//   B: b[r] holds rows (k) 2t, 2t+1 (+8 for r = 1), column (n) g
//   C, D: c[i] holds row g (+8 for i >= 2), column 2t + (i & 1)
// ldmatrix: lane 8j + i gives the address of row i of matrix j (16 contiguous bytes, 16-byte
// aligned); r[j] of lane l receives row l >> 2, elements 2 (l % 4) and +1 of matrix j - or, with
// .trans, elements (2 (l % 4), l >> 2) and (2 (l % 4) + 1, l >> 2).
//
// On the device these are inline PTX (sm_80+). In the emu build they are warp collectives that
// gather every lane's registers with exactly this layout, compute in f32 and scatter the result,
// so a kernel with a wrong fragment layout computes wrong results on the emulator too.
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
    for (int lane = 0; lane < 32; ++lane) {
        const MmaSlot& s = *static_cast<const MmaSlot*>(slots[lane]);
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 4; ++i) {
            const int m = g + 8 * (i >> 1), n = 2 * t + (i & 1);
            float acc = C[m][n];
            for (int k = 0; k < 16; ++k) acc = fmaf(A[m][k], B[k][n], acc);
            s.d[i] = acc;
        }
    }
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

template <int N, bool Trans = false>
inline void ldmatrix(uint32_t (&r)[N], const void* row) {
    static_assert(N == 1 || N == 2 || N == 4, "ldmatrix: .x1, .x2 or .x4");
    static constexpr const char* names[2][3] = {{"ldmatrix.x1", "ldmatrix.x2", "ldmatrix.x4"},
                                                {"ldmatrix.x1.trans", "ldmatrix.x2.trans", "ldmatrix.x4.trans"}};
    emu::rt::LdmatrixSlot slot{static_cast<const unsigned char*>(row), r};
    emu::rt::warp_collective(names[Trans][N / 2], 0xffffffffu, &slot, &emu::rt::complete_ldmatrix<N, Trans>);
}

#endif

}  // namespace dk
