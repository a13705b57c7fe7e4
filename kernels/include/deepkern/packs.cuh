// packs.cuh - how element-wise bodies load and store V consecutive elements, as stored or as f32:
// whole 16-byte packs of the storage type (aligned), any other V element by element.
// These are the kernels' only vector accesses to memory (besides ldmatrix and cp.async, checked
// in their own wrappers): the emu build fails one whose address is not 16-byte aligned, which a
// GPU faults on ("misaligned address") and a CPU would quietly allow.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "deepkern/numeric.cuh"
#if defined(DK_EMU)
#include <string>

#include "deepkern/emu/runtime.h"
#endif

namespace dk {

template <int V>
struct Floats {
    float v[V];
};

// f(0) .. f(V-1). For V == 1 no loop at all: a one-trip inner loop keeps the compiler from
// vectorizing the loop around it (the cpu backend's element loops).
template <int V, class F>
DK_HD void each(F&& f) {
    if constexpr (V == 1) {
        f(0);
    } else {
        DK_UNROLL
        for (int k = 0; k < V; ++k) f(k);
    }
}

// The emu build's check of a 16-byte pack access.
DK_HD void check_pack_aligned([[maybe_unused]] const void* p, [[maybe_unused]] const char* what) {
#if defined(DK_EMU)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0)
        emu::rt::kernel_error(std::string("misaligned address: 16-byte ") + what + " at " +
                              std::to_string(reinterpret_cast<uintptr_t>(p)) + ", which is " +
                              std::to_string(reinterpret_cast<uintptr_t>(p) % 16) + " bytes past a 16-byte boundary");
#endif
}

// V consecutive elements of T as stored: whole 16-byte packs when V is a multiple of a pack's
// element count (p must then be 16-byte aligned), element by element otherwise.
template <typename T, int V>
struct Elems {
    T v[V];
};

template <int V, typename T>
DK_HD Elems<T, V> load_elems(const T* p) {
    constexpr int P = Pack16<T>::size;
    Elems<T, V> e;
    if constexpr (V % P != 0) {
        each<V>([&](int k) { e.v[k] = p[k]; });
    } else {
        DK_UNROLL
        for (int c = 0; c < V; c += P) {
            check_pack_aligned(p + c, "load");
            const Pack16<T> pk = *reinterpret_cast<const Pack16<T>*>(p + c);
            DK_UNROLL
            for (int k = 0; k < P; ++k) e.v[c + k] = pk.v[k];
        }
    }
    return e;
}

template <int V, typename T>
DK_HD void store_elems(T* p, const Elems<T, V>& e) {
    constexpr int P = Pack16<T>::size;
    if constexpr (V % P != 0) {
        each<V>([&](int k) { p[k] = e.v[k]; });
    } else {
        DK_UNROLL
        for (int c = 0; c < V; c += P) {
            Pack16<T> pk;
            DK_UNROLL
            for (int k = 0; k < P; ++k) pk.v[k] = e.v[c + k];
            check_pack_aligned(p + c, "store");
            *reinterpret_cast<Pack16<T>*>(p + c) = pk;
        }
    }
}

// The same as f32 values.
template <int V, typename T>
DK_HD Floats<V> load(const T* p) {
    const Elems<T, V> e = load_elems<V>(p);
    Floats<V> f;
    each<V>([&](int k) { f.v[k] = load_float(e.v[k]); });
    return f;
}

template <int V, typename T>
DK_HD void store(T* p, const Floats<V>& f) {
    Elems<T, V> e;
    each<V>([&](int k) { store_float(e.v[k], f.v[k]); });
    store_elems<V>(p, e);
}

inline bool aligned16(std::initializer_list<const void*> ptrs) {
    for (const void* p : ptrs)
        if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
    return true;
}

// Whether 16-byte packs fit: every row starts on a pack boundary and every pointer is aligned.
template <typename T>
inline bool packable(int64_t cols, std::initializer_list<const void*> ptrs) {
    return cols % Pack16<T>::size == 0 && aligned16(ptrs);
}

}  // namespace dk
