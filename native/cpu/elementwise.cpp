// cpu/elementwise.cpp - binary arithmetic on the cpu backend: the kernels' own element math
// (elementwise/elementwise_bodies.cuh), walked a row of the innermost merged dim at a time: a row's
// start comes from one unflattening, then the row is a strided loop with the op fixed at compile
// time, which the compiler vectorizes where the strides are 1 or 0 (no division or op switch per
// element, as the GPU's one-thread-per-element body has). Rows are shared out on the thread pool.
#include "elementwise/elementwise.h"
#include "elementwise/elementwise_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

namespace {

template <typename T, BinaryOp Op>
void binary_rows(const BinaryArgs& a) {
    using C = BinaryCompute<T>;
    const int last = a.ndim - 1;
    const int64_t len = a.shape[last], rows = a.numel / len;
    const int64_t sa = a.a_stride[last], sb = a.b_stride[last], so = a.out_stride[last];
    parallel_range(rows, len >= (1 << 14) ? 1 : (1 << 14) / len, [&](int64_t first, int64_t end) {
        for (int64_t r = first; r < end; ++r) {
            int64_t ao = 0, bo = 0, oo = 0, rest = r;
            for (int d = last - 1; d >= 0; --d) {
                const int64_t idx = rest % a.shape[d];
                rest /= a.shape[d];
                ao += idx * a.a_stride[d];
                bo += idx * a.b_stride[d];
                oo += idx * a.out_stride[d];
            }
            if (a.has_scalar) {
                const C y = C(a.scalar);
                for (int64_t j = 0; j < len; ++j)
                    binary_store<T>(a.out, oo + j * so, binary_apply<C>(a, Op, binary_load<T>(a.a, ao + j * sa), y));
            } else {
                for (int64_t j = 0; j < len; ++j)
                    binary_store<T>(a.out, oo + j * so, binary_apply<C>(a, Op, binary_load<T>(a.a, ao + j * sa),
                                                                        binary_load<T>(a.b, bo + j * sb)));
            }
        }
    });
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
