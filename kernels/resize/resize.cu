// resize.cu - F.interpolate's modes, forward and backward (resize/resize_bodies.cuh): one thread per
// output element (forward) or input element (backward, a gather: deterministic, no atomics) in a
// grid-stride loop (walk.cuh each_element); NHWC puts the channel innermost, so neighbouring
// threads read neighbouring channels of one pixel in both layouts. The image pyramid runs every
// level's resize in one launch, blockIdx.y the level.
#include <algorithm>

#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/walk.cuh"
#include "resize/resize_bodies.cuh"
#include "resize/resize.h"

namespace dk {
namespace DK_BACKEND {

void resize_forward(const Exec& ex, DType dtype, const ResizeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        each_element<false>(ex, "resize_forward", Resize<T>::of(a), a.n * a.c * a.h.out * a.w.out);
    });
}

void resize_backward(const Exec& ex, DType dtype, const ResizeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        each_element<true>(ex, "resize_backward", Resize<T>::of(a), a.n * a.c * a.h.in * a.w.in);
    });
}

template <typename T>
__global__ void image_pyramid_kernel(ImagePyramidArgs a) {
    // this block's level, picked by an unrolled walk so the level tables stay in the parameter
    // space (a dynamic index would copy them to local memory)
    InterpAxis h{}, w{};
    int64_t offset = 0;
    DK_UNROLL
    for (int l = 0; l < kMaxImageLevels; ++l)
        if (l == int(blockIdx.y)) {
            h = a.h[l];
            w = a.w[l];
            offset = a.offset[l];
        }
    const Resize<T> body{static_cast<const T*>(a.x), static_cast<T*>(a.out) + offset, {a.c, a.nhwc}, h, w};
    const int64_t n = a.n * a.c * h.out * w.out, stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) body.forward(e);
}

void image_pyramid(const Exec& ex, DType dtype, const ImagePyramidArgs& a) {
    int64_t largest = 0;
    for (int l = 0; l < a.levels; ++l) largest = std::max(largest, a.n * a.c * a.h[l].out * a.w[l].out);
    if (largest == 0) return;
    constexpr int kThreads = 256;
    const dim3 grid(grid_for(ex, largest, kThreads), unsigned(a.levels));
    dispatch_floating(dtype, [&](auto tag) {
        launch(ex, "image_pyramid", image_pyramid_kernel<typename decltype(tag)::type>, grid, dim3(kThreads), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
