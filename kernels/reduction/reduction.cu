// reduction.cu - sum, mean, max, min, argmax and argmin over any set of dims. One block per
// output element (grid-stride over the outputs): its threads stride over the reduced elements,
// each keeping a running state (reduction/reduction_bodies.cuh, f32 or i64), then a tree over
// shared memory combines the block's states. The block is as wide as the reduction needs (32 to
// 256 threads). The C API merges contiguous dims first, so a reduction over the last dims reads
// runs of consecutive elements. Traffic: x read once, out written once.
#include "deepkern/portable.cuh"
#include "reduction/reduction_bodies.cuh"

namespace dk {
namespace DK_BACKEND {

namespace {
constexpr int kMaxThreads = 256;
}

template <typename T, typename Acc>
__global__ void reduce_kernel(ReduceArgs a) {
    DK_SHARED(Acc, values, [kMaxThreads]);
    DK_SHARED(int64_t, indices, [kMaxThreads]);
    const T* x = static_cast<const T*>(a.x);
    const int tid = threadIdx.x;
    for (int64_t o = blockIdx.x; o < a.outer_numel; o += gridDim.x) {
        const int64_t base = strided_offset(a.outer_ndim, a.outer_shape, a.outer_stride, o);
        ReduceState<Acc> s = reduce_empty<Acc>();
        for (int64_t r = tid; r < a.inner_numel; r += blockDim.x)
            s = reduce_step<Acc, T>(a.op, s, x, base + strided_offset(a.inner_ndim, a.inner_shape, a.inner_stride, r), r);
        values[tid] = s.value;
        indices[tid] = s.index;
        __syncthreads();
        for (int half = blockDim.x / 2; half > 0; half /= 2) {
            if (tid < half) {
                const ReduceState<Acc> c = reduce_combine<Acc>(a.op, ReduceState<Acc>{values[tid], indices[tid]},
                                                               ReduceState<Acc>{values[tid + half], indices[tid + half]});
                values[tid] = c.value;
                indices[tid] = c.index;
            }
            __syncthreads();
        }
        if (tid == 0) reduce_store<Acc, T>(a, o, ReduceState<Acc>{values[0], indices[0]});
        __syncthreads();  // the next output reuses the shared states
    }
}

void reduce(const Exec& ex, DType dtype, const ReduceArgs& a) {
    if (a.outer_numel == 0) return;
    int threads = 32;
    while (threads < kMaxThreads && threads < a.inner_numel) threads *= 2;
    const unsigned blocks = unsigned(a.outer_numel < 65535 ? a.outer_numel : 65535);
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using Acc = typename std::conditional<is_integer_dtype<T>::value, int64_t, float>::type;
        launch(ex, "reduce", reduce_kernel<T, Acc>, dim3(blocks), dim3(unsigned(threads)), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
