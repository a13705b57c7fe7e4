// cpu/resize.cpp - resizing on the cpu backend: the kernels' own element bodies
// (resize/resize_bodies.cuh) on the thread pool.
#include "deepkern/dispatch.h"
#include "resize/resize.h"
#include "resize/resize_bodies.cuh"
#include "thread_pool.h"

namespace dk::cpu {

void resize_forward(const Exec&, DType dtype, const ResizeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        each_element<false>(Resize<typename decltype(tag)::type>::of(a), a.n * a.c * a.h.out * a.w.out);
    });
}

void resize_backward(const Exec&, DType dtype, const ResizeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        each_element<true>(Resize<typename decltype(tag)::type>::of(a), a.n * a.c * a.h.in * a.w.in);
    });
}

void image_pyramid(const Exec&, DType dtype, const ImagePyramidArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        for (int l = 0; l < a.levels; ++l) {
            const Resize<T> body{static_cast<const T*>(a.x), static_cast<T*>(a.out) + a.offset[l], {a.c, a.nhwc}, a.h[l],
                                 a.w[l]};
            each_element<false>(body, a.n * a.c * a.h[l].out * a.w[l].out);
        }
    });
}

}  // namespace dk::cpu
