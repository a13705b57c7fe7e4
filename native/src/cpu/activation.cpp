// cpu/activation.cpp - activations on the cpu backend with the functors of
// deepkern/activations.cuh, the same math the kernels run.
#include "deepkern/activations.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"

namespace dk::cpu {

template <typename Act>
static void unary(DType dtype, const void* x, void* out, int64_t n, Act act) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* src = static_cast<const T*>(x);
        T* dst = static_cast<T*>(out);
        parallel_range(n, 1 << 14, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) store_float(dst[i], act(load_float(src[i])));
        });
    });
}

void gelu(const Exec&, DType dtype, const void* x, void* out, int64_t n, int approximation) {
    if (approximation == DK_GELU_TANH)
        unary(dtype, x, out, n, GeluTanh{});
    else
        unary(dtype, x, out, n, GeluErf{});
}

}  // namespace dk::cpu
