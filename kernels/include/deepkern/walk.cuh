// walk.cuh - the grid-stride walk over a [rows, cols] index space that the element-wise families
// share (activation.cu, gated.cu, diffusion.cu): packs of V elements, (row, col) carried along
// without a division per step, and for a flat space (rows == 1) a scalar tail after the last whole
// pack. A body's apply<V>(i, row, col) handles elements i .. i+V-1, all in one row. Include after
// portable.cuh.
#pragma once

#include "deepkern/packs.cuh"

namespace dk {
namespace DK_BACKEND {

template <int V, typename Body>
__global__ void walk_kernel(Body body, int64_t rows, int64_t cols) {
    const int64_t threads = int64_t(blockDim.x) * gridDim.x;
    const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t n = rows * cols;
    const int64_t packed = rows == 1 ? n - n % V : n;  // rows > 1 needs cols % V == 0
    const int64_t step = threads * V, step_rows = step / cols, step_cols = step % cols;
    int64_t i = first * V;
    int64_t row = i / cols, col = i % cols;
    for (; i < packed; i += step) {
        body.template apply<V>(i, row, col);
        col += step_cols;
        row += step_rows;
        if (col >= cols) {
            col -= cols;
            ++row;
        }
    }
    if (V > 1 && rows == 1)
        for (int64_t t = packed + first; t < n; t += threads) body.template apply<1>(t, 0, t);
}

// Launches walk_kernel with 16-byte packs when the rows and every pointer allow it.
template <typename T, typename Body>
void walk(const Exec& ex, const char* name, const Body& body, int64_t rows, int64_t cols,
          std::initializer_list<const void*> ptrs) {
    if (rows * cols == 0) return;
    constexpr int V = Pack16<T>::size;
    constexpr int threads = 256;
    const bool packs = (rows == 1 || cols % V == 0) && aligned16(ptrs);
    const int64_t work = packs ? (rows * cols + V - 1) / V : rows * cols;
    const dim3 grid(grid_for(ex, work, threads));
    if (packs)
        launch(ex, name, walk_kernel<V, Body>, grid, dim3(threads), 0, body, rows, cols);
    else
        launch(ex, name, walk_kernel<1, Body>, grid, dim3(threads), 0, body, rows, cols);
}

// body(e) for every item e < n, one per thread in a grid-stride loop: the walk of the families
// whose threads each own one output (pool, resize, detect).
template <class Body>
__global__ void each_kernel(Body body, int64_t n) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += stride) body(e);
}

// A forward / backward element body (forward(e), backward(e)) as one callable.
template <class Body, bool Backward>
struct ElementPass {
    Body body;
    DK_HD void operator()(int64_t e) const {
        if constexpr (Backward) body.backward(e);
        else body.forward(e);
    }
};

// The gather families' walk (pool, resize): body.forward(e), or body.backward(e), for every
// element e < n.
template <bool Backward, typename Body>
void each_element(const Exec& ex, const char* name, const Body& body, int64_t n) {
    if (n == 0) return;
    constexpr int threads = 256;
    launch(ex, name, each_kernel<ElementPass<Body, Backward>>, dim3(grid_for(ex, n, threads)), dim3(threads), 0,
           ElementPass<Body, Backward>{body}, n);
}

}  // namespace DK_BACKEND
}  // namespace dk
