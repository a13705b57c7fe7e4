// activation.cu - activations: out = act(x + bias) and its backward, every activation of
// activation/activations.cuh, with and without a bias over the last dim.
//
// One grid-stride kernel walks the [rows, cols] index space in 16-byte packs (scalars where rows
// or pointers are not pack-aligned, plus a scalar tail for flat tensors), carrying (row, col)
// incrementally so there is no division per element; the per-element work is the family's body
// (activation/activation_bodies.cuh) with the activation as a template parameter. gated.cu reuses
// the walk. The bias gradient is a column sum of grad_in: a 2-D kernel gives each thread a pack
// of columns and a strided set of rows, sums them in registers, combines the block's rows in
// shared memory and writes one f32 partial row per block; a second kernel adds the partials.
// Memory traffic: forward 2n elements (+cols), backward 3n (+ partials, tiny); all bandwidth-bound.
#include "deepkern/portable.cuh"
#include "deepkern/column_sum.cuh"
#include "activation/activation_bodies.cuh"
#include "deepkern/walk.cuh"
#include "deepkern/dispatch.h"
#include "activation/activation.h"

namespace dk {
namespace DK_BACKEND {

constexpr int kColThreads = 32, kRowThreads = 8;

template <int V, typename T, typename Act>
__global__ void act_backward_bias_kernel(ActBackward<T, Act> body, int64_t rows, int64_t cols,
                                         float* __restrict__ partials) {
    DK_SHARED(float, sums, [kRowThreads][kColThreads * Pack16<T>::size]);
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t col = (int64_t(blockIdx.x) * kColThreads + tx) * V;
    float acc[V];
    DK_UNROLL
    for (int k = 0; k < V; ++k) acc[k] = 0.0f;
    if (col < cols) {
        for (int64_t r = int64_t(blockIdx.y) * kRowThreads + ty; r < rows; r += int64_t(gridDim.y) * kRowThreads) {
            const Floats<V> g = body.template apply<V>(r * cols + col, r, col);
            DK_UNROLL
            for (int k = 0; k < V; ++k) acc[k] += g.v[k];
        }
    }
    DK_UNROLL
    for (int k = 0; k < V; ++k) sums[ty][tx * V + k] = acc[k];
    __syncthreads();
    if (ty == 0 && col < cols) {
        DK_UNROLL
        for (int k = 0; k < V; ++k) {
            float s = 0.0f;
            for (int y = 0; y < kRowThreads; ++y) s += sums[y][tx * V + k];
            partials[int64_t(blockIdx.y) * cols + col + k] = s;
        }
    }
}

template <int V, typename T, typename Act>
static void backward_with_bias(const Exec& ex, const ActBackward<T, Act>& body, const ActArgs& a) {
    const int64_t parts = bias_partial_rows(ex, a.rows);
    const int64_t col_blocks = (a.cols + kColThreads * V - 1) / (kColThreads * V);
    launch(ex, "activation_backward_bias", act_backward_bias_kernel<V, T, Act>,
           dim3(unsigned(col_blocks), unsigned(parts)), dim3(kColThreads, kRowThreads), 0, body, a.rows,
           a.cols, a.workspace);
    launch(ex, "bias_grad_sum", column_sum_kernel<T>, dim3(grid_for(ex, a.cols, 256)), dim3(256), 0,
           static_cast<const float*>(a.workspace), parts, a.cols, static_cast<T*>(a.grad_bias));
}

void activation_forward(const Exec& ex, DType dtype, const ActParams& p, const ActArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_activation(p, [&](auto act) {
            const auto body = ActForward<T, decltype(act)>::of(a, act);
            walk<T>(ex, "activation_forward", body, a.rows, a.cols, {a.x, a.bias, a.out});
        });
    });
}

void activation_backward(const Exec& ex, DType dtype, const ActParams& p, const ActArgs& a) {
    dispatch_floating(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        dispatch_activation(p, [&](auto act) {
            const auto body = ActBackward<T, decltype(act)>::of(a, act);
            if (!a.grad_bias) {
                walk<T>(ex, "activation_backward", body, a.rows, a.cols, {a.x, a.bias, a.grad_out, a.out});
            } else if (a.rows * a.cols > 0) {
                constexpr int V = Pack16<T>::size;
                if (packable<T>(a.cols, {a.x, a.bias, a.grad_out, a.out}))
                    backward_with_bias<V>(ex, body, a);
                else
                    backward_with_bias<1>(ex, body, a);
            }
        });
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
