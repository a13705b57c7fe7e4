// resize.cu - F.interpolate's modes, forward and backward (resize/resize_bodies.cuh). The forward:
// blocks in y over the output rows, threads in x along a row (its columns; NHWC: its columns'
// channels, neighbouring threads on neighbouring channels of one pixel), so a row's vertical taps
// are found once per thread and no element index needs a division; one instantiation per tap kind
// (nearest, bilinear, bicubic: fixed, unrolled tap loops; antialias's windows at run time). The backward: one thread per
// input element (a gather: deterministic, no atomics; walk.cuh each_element). The image pyramid
// runs every level's rows in one launch, blockIdx.z the level.
#include <algorithm>
#include <type_traits>

#include "deepkern/portable.cuh"
#include "deepkern/dispatch.h"
#include "deepkern/walk.cuh"
#include "resize/resize_bodies.cuh"
#include "resize/resize.h"

namespace dk {
namespace DK_BACKEND {

// Output rows r = blockIdx.y, y + gridDim.y, ...; their elements over the x blocks and threads.
template <typename T, TapKind K>
__global__ void resize_rows_kernel(Resize<T> body, int64_t rows) {
    const int64_t length = body.row_length(), stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const InterpAxis::Taps ty = body.h.template taps<K>(r % body.h.out);
        for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < length; i += stride)
            body.template forward<K>(r, ty, i);
    }
}

// f(integral_constant<TapKind, K>) for the kind both axes share (any where they differ).
template <class F>
static void dispatch_tap_kind(const InterpAxis& h, const InterpAxis& w, F&& f) {
    switch (h.kind() == w.kind() ? h.kind() : TapKind::any) {
        case TapKind::nearest: return f(std::integral_constant<TapKind, TapKind::nearest>{});
        case TapKind::bilinear: return f(std::integral_constant<TapKind, TapKind::bilinear>{});
        case TapKind::bicubic: return f(std::integral_constant<TapKind, TapKind::bicubic>{});
        default: return f(std::integral_constant<TapKind, TapKind::any>{});
    }
}

constexpr int kResizeThreads = 256;

// The row grid of a resize: x blocks across a row, y blocks over the rows, enough to fill the GPU.
template <typename T>
static dim3 row_grid(const Exec& ex, const Resize<T>& body, int64_t rows) {
    const int64_t length = body.row_length();
    const unsigned gx = grid_for(ex, length, kResizeThreads);
    const int64_t want = grid_for(ex, rows * length, kResizeThreads) / gx;
    return dim3(gx, unsigned(std::max<int64_t>(1, std::min<int64_t>({rows, want, 65535}))));
}

void resize_forward(const Exec& ex, DType dtype, const ResizeArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const Resize<T> body = Resize<T>::of(a);
        const int64_t rows = body.rows(a.n);
        if (rows == 0 || body.row_length() == 0) return;
        dispatch_tap_kind(a.h, a.w, [&](auto kind) {
            launch(ex, "resize_forward", resize_rows_kernel<T, decltype(kind)::value>, row_grid(ex, body, rows),
                   dim3(kResizeThreads), 0, body, rows);
        });
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
    // this block's level (blockIdx.z), picked by an unrolled walk so the level tables stay in the
    // parameter space (a dynamic index would copy them to local memory)
    InterpAxis h{}, w{};
    int64_t offset = 0;
    DK_UNROLL
    for (int l = 0; l < kMaxImageLevels; ++l)
        if (l == int(blockIdx.z)) {
            h = a.h[l];
            w = a.w[l];
            offset = a.offset[l];
        }
    const Resize<T> body{static_cast<const T*>(a.x), static_cast<T*>(a.out) + offset, {a.c, a.nhwc}, h, w};
    const int64_t rows = body.rows(a.n), length = body.row_length(), stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const InterpAxis::Taps ty = h.taps(r % h.out);
        for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < length; i += stride) body.forward(r, ty, i);
    }
}

void image_pyramid(const Exec& ex, DType dtype, const ImagePyramidArgs& a) {
    if (a.levels == 0 || a.n == 0) return;
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        // the grid of the largest level (the first), the smaller levels' spare blocks idle
        const Resize<T> first{nullptr, nullptr, {a.c, a.nhwc}, a.h[0], a.w[0]};
        dim3 grid = row_grid(ex, first, first.rows(a.n));
        grid.z = unsigned(a.levels);
        launch(ex, "image_pyramid", image_pyramid_kernel<T>, grid, dim3(kResizeThreads), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
