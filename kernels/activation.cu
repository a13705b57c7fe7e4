// activation.cu - element-wise activations: y = act(x).
//
// One grid-stride kernel for the whole family, templated on the storage type and on the
// activation functor (deepkern/activations.cuh, shared with the cpu backend). Each thread
// moves 16-byte packs; a scalar loop takes the tail, and packs are skipped altogether when a
// pointer is not 16-byte aligned (views at odd offsets).
// Memory traffic: n * sizeof(T) read + n * sizeof(T) written; about 20 FLOP per element, so
// every form is bandwidth-bound on any GPU.
#include "deepkern/portable.cuh"
#include "deepkern/activations.cuh"
#include "deepkern/dispatch.h"

namespace dk {
namespace DK_BACKEND {

template <typename T, bool Packed, typename Act>
__global__ void unary_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, Act act) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    int64_t done = 0;
    if (Packed) {
        constexpr int V = Pack16<T>::size;
        const int64_t packs = n / V;
        const Pack16<T>* xp = reinterpret_cast<const Pack16<T>*>(x);
        Pack16<T>* yp = reinterpret_cast<Pack16<T>*>(y);
        for (int64_t i = first; i < packs; i += stride) {
            Pack16<T> p = xp[i];
#pragma unroll
            for (int k = 0; k < V; ++k) store_float(p.v[k], act(load_float(p.v[k])));
            yp[i] = p;
        }
        done = packs * V;
    }
    for (int64_t i = done + first; i < n; i += stride) store_float(y[i], act(load_float(x[i])));
}

template <typename Act>
static void unary(const Exec& ex, const char* name, DType dtype, const void* x, void* y,
                  int64_t n, Act act) {
    if (n == 0) return;
    const bool aligned = ((reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(y)) & 15) == 0;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        constexpr int threads = 256;
        const int64_t work = aligned ? (n + Pack16<T>::size - 1) / Pack16<T>::size : n;
        const dim3 grid(grid_for(ex, work, threads));
        const T* xs = static_cast<const T*>(x);
        T* ys = static_cast<T*>(y);
        if (aligned)
            launch(ex, name, unary_kernel<T, true, Act>, grid, dim3(threads), 0, xs, ys, n, act);
        else
            launch(ex, name, unary_kernel<T, false, Act>, grid, dim3(threads), 0, xs, ys, n, act);
    });
}

void gelu(const Exec& ex, DType dtype, const void* x, void* out, int64_t n, int approximation) {
    if (approximation == DK_GELU_TANH)
        unary(ex, "gelu_tanh", dtype, x, out, n, GeluTanh{});
    else
        unary(ex, "gelu", dtype, x, out, n, GeluErf{});
}

}  // namespace DK_BACKEND
}  // namespace dk
