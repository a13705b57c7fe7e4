// cpu/elementwise.cpp - binary arithmetic on the cpu backend: the kernels' own element math
// (elementwise/elementwise_bodies.cuh), walked a row of the innermost merged dim at a time: a row's
// start comes from one unflattening, then the row is a strided loop with the op fixed at compile
// time, which the compiler vectorizes where the strides are 1 or 0 (no division or op switch per
// element, as the GPU's one-thread-per-element body has). Rows are shared out on the thread pool; the
// loops are compiled per ISA (elementwise_loops.inc, isa.h).
#include "elementwise/elementwise.h"
#include "elementwise/elementwise_bodies.cuh"
#include "isa.h"
#include "thread_pool.h"

#define DK_ISA_BODY "elementwise_loops.inc"
#include "isa_variants.h"

namespace dk::cpu {

namespace {

template <typename T, BinaryOp O>
struct BinaryKind {
    using type = T;
    static constexpr BinaryOp op = O;
};

template <typename T, BinaryOp O>
void binary_rows(const BinaryArgs& a) {
    using Kind = BinaryKind<T, O>;
    DK_ISA_CALL(binary_rows<Kind>, a);
}

}  // namespace

void binary(const Exec&, DType dtype, const BinaryArgs& a) {
    if (a.numel == 0) return;
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        switch (a.op) {
            case BinaryOp::add: binary_rows<T, BinaryOp::add>(a); return;
            case BinaryOp::sub: binary_rows<T, BinaryOp::sub>(a); return;
            case BinaryOp::mul: binary_rows<T, BinaryOp::mul>(a); return;
            case BinaryOp::div: binary_rows<T, BinaryOp::div>(a); return;
            case BinaryOp::maximum: binary_rows<T, BinaryOp::maximum>(a); return;
            case BinaryOp::minimum: binary_rows<T, BinaryOp::minimum>(a); return;
        }
    });
}

}  // namespace dk::cpu
