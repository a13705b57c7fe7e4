// tensor.cu - the tensor basics every backend needs: fill, dtype cast, normal random numbers and the
// strided copy behind permute and narrow.
//
// All are grid-stride loops over their outputs: fill and cast on 16-byte packs when aligned, else
// element by element with several loads in flight per thread. The strided copy (index maps in
// tensor/strided.cuh; its writes coalesce, a transposing read does not) goes in 16-byte runs of the
// output, one index decode per run through multiply-high divisors, when the last dim allows, else
// element by element. randn draws element i from Philox counter offset + i/4 (deepkern/philox.cuh),
// so its bits do not depend on the launch shape and match the cpu backend's.
#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/packs.cuh"
#include "deepkern/philox.cuh"
#include "tensor/strided.cuh"
#include "tensor/tensor.h"

namespace dk {
namespace DK_BACKEND {

// V consecutive elements per thread and step: 16-byte packs when the pointers allow (V > 1),
// the last partial step element by element.
template <int V, typename T>
__global__ void fill_kernel(T* __restrict__ y, int64_t n, T value) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x * V;
    Elems<T, V> e;
    each<V>([&](int k) { e.v[k] = value; });
    for (int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V; i < n; i += stride) {
        if (i + V <= n) store_elems<V>(y + i, e);
        else for (int64_t j = i; j < n; ++j) y[j] = value;
    }
}

// Elements one at a time in a grid-stride loop, U per thread and step with all U loads issued
// before any store: U times one element's bytes in flight (a lone 2-byte load per thread cannot
// cover DRAM latency). load(i) reads element i, store(i, v) writes it.
template <typename T>
constexpr int elements_in_flight() { return sizeof(T) >= 4 ? 4 : 8; }

template <int U, class Load, class Store>
__device__ __forceinline__ void copy_elements(int64_t n, Load load, Store store) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    for (; i + (U - 1) * stride < n; i += U * stride) {
        decltype(load(i)) v[U];
        DK_UNROLL
        for (int u = 0; u < U; ++u) v[u] = load(i + u * stride);
        DK_UNROLL
        for (int u = 0; u < U; ++u) store(i + u * stride, v[u]);
    }
    for (; i < n; i += stride) store(i, load(i));
}

template <int V, typename To, typename From>
__global__ void cast_kernel(const From* __restrict__ x, To* __restrict__ y, int64_t n) {
    if constexpr (V == 1) {
        copy_elements<elements_in_flight<From>()>(n, [&](int64_t i) { return x[i]; },
                                                  [&](int64_t i, From v) { y[i] = convert<To>(v); });
        return;
    }
    const int64_t stride = int64_t(blockDim.x) * gridDim.x * V;
    for (int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * V; i < n; i += stride) {
        if (i + V <= n) {
            const Elems<From, V> a = load_elems<V>(x + i);
            Elems<To, V> b;
            each<V>([&](int k) { b.v[k] = convert<To>(a.v[k]); });
            store_elems<V>(y + i, b);
        } else {
            for (int64_t j = i; j < n; ++j) y[j] = convert<To>(x[j]);
        }
    }
}

// One thread per Philox block of four normals.
template <typename T>
__global__ void randn_kernel(T* __restrict__ y, int64_t n, uint64_t seed, uint64_t offset) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    const int64_t blocks = (n + 3) / 4;
    for (int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; b < blocks; b += stride) {
        Philox4 r = philox4x32_10(offset + uint64_t(b), 0, seed);
        float z[4];
        box_muller(r.v[0], r.v[1], &z[0], &z[1]);
        box_muller(r.v[2], r.v[3], &z[2], &z[3]);
        for (int k = 0; k < 4 && 4 * b + k < n; ++k) store_float(y[4 * b + k], z[k]);
    }
}

// Any copy: element by element, each index decoded once, through the fast divisors when the copy
// is small (Small), else by 64-bit divisions.
template <typename T>
struct StridedElement {
    T v;
    int64_t target;
};

template <typename T, bool Small>
__global__ void strided_copy_kernel(StridedCopyArgs a, StridedDivisors div) {
    const T* __restrict__ x = static_cast<const T*>(a.x);
    T* __restrict__ y = static_cast<T*>(a.out);
    copy_elements<elements_in_flight<T>()>(
        a.numel,
        [&](int64_t i) {
            if constexpr (Small) {
                const StridedAt at = strided_at(a, div, uint32_t(i));
                return StridedElement<T>{x[at.source], a.out_strided ? at.target : i};
            } else {
                return StridedElement<T>{x[strided_source(a, i)], strided_target(a, i)};
            }
        },
        [&](int64_t, StridedElement<T> e) { y[e.target] = e.v; });
}

// Runs (strided_runs): a thread copies U consecutive elements of out per step (16 bytes; one pack
// store when out is compact and 16-byte aligned: Packed), decoding only the run's first index,
// through the fast divisors, the others following along the last dim. U loads in flight per thread.
template <typename T, bool Packed>
__global__ void strided_copy_runs_kernel(StridedCopyArgs a, StridedDivisors div) {
    constexpr int U = Pack16<T>::size;
    const T* __restrict__ x = static_cast<const T*>(a.x);
    T* __restrict__ y = static_cast<T*>(a.out);
    const uint32_t runs = uint32_t(a.numel) / U, step = blockDim.x * gridDim.x;
    const int64_t xs = a.x_stride[a.ndim - 1], ys = a.out_stride[a.ndim - 1];
    for (uint32_t run = blockIdx.x * blockDim.x + threadIdx.x; run < runs; run += step) {
        const uint32_t i0 = run * U;
        const StridedAt at = strided_at(a, div, i0);
        Elems<T, U> e;
        each<U>([&](int u) { e.v[u] = x[at.source + u * xs]; });
        if constexpr (Packed) store_elems<U>(y + i0, e);
        else if (!a.out_strided) each<U>([&](int u) { y[i0 + u] = e.v[u]; });
        else each<U>([&](int u) { y[at.target + u * ys] = e.v[u]; });
    }
}

constexpr int kThreads = 256;

void fill(const Exec& ex, DType dtype, void* out, int64_t n, double value) {
    if (n == 0) return;
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T v;
        if constexpr (is_integer_dtype<T>::value) v = saturating_int<T>(value);
        else store_float(v, float(value));
        dispatch_bool(aligned16({out}), [&](auto packed) {
            constexpr int V = decltype(packed)::value ? Pack16<T>::size : 1;
            launch(ex, "fill", fill_kernel<V, T>, dim3(grid_for(ex, (n + V - 1) / V, kThreads)), dim3(kThreads), 0,
                   static_cast<T*>(out), n, v);
        });
    });
}

// Aligned: 8 elements per thread and step, 16 bytes of the 16-bit types, whole packs of the wider ones.
void cast(const Exec& ex, DType from, const void* x, DType to, void* out, int64_t n) {
    if (n == 0) return;
    dispatch_all(from, [&](auto from_tag) {
        dispatch_all(to, [&](auto to_tag) {
            using F = typename decltype(from_tag)::type;
            using T = typename decltype(to_tag)::type;
            dispatch_bool(aligned16({x, out}), [&](auto packed) {
                constexpr int V = decltype(packed)::value ? 8 : 1, U = V > 1 ? V : elements_in_flight<F>();
                launch(ex, "cast", cast_kernel<V, T, F>, dim3(grid_for(ex, (n + U - 1) / U, kThreads)),
                       dim3(kThreads), 0, static_cast<const F*>(x), static_cast<T*>(out), n);
            });
        });
    });
}

void randn(const Exec& ex, DType dtype, void* out, int64_t n, uint64_t seed, uint64_t offset) {
    if (n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "randn", randn_kernel<T>, dim3(grid_for(ex, (n + 3) / 4, kThreads)),
               dim3(kThreads), 0, static_cast<T*>(out), n, seed, offset);
    });
}

void strided_copy(const Exec& ex, DType dtype, const StridedCopyArgs& a) {
    if (a.numel == 0) return;
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        constexpr int U = Pack16<T>::size, V = elements_in_flight<T>();
        const StridedDivisors div = StridedDivisors::of(a);
        if (strided_runs(a, U)) {
            dispatch_bool(!a.out_strided && aligned16({a.out}), [&](auto packed) {
                launch(ex, "strided_copy", strided_copy_runs_kernel<T, decltype(packed)::value>,
                       dim3(grid_for(ex, a.numel / U, kThreads)), dim3(kThreads), 0, a, div);
            });
        } else {
            dispatch_bool(strided_small(a), [&](auto small) {
                launch(ex, "strided_copy", strided_copy_kernel<T, decltype(small)::value>,
                       dim3(grid_for(ex, (a.numel + V - 1) / V, kThreads)), dim3(kThreads), 0, a, div);
            });
        }
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
