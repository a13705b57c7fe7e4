// elementwise.cu - binary arithmetic with broadcasting: out = a op b (add, sub, mul, div,
// maximum, minimum) or a op scalar. One thread per output element in a grid-stride loop
// (elementwise/elementwise_bodies.cuh); each operand is read through its strides, so a broadcast
// operand is re-read from cache rather than copied. The C API merges dims that both operands walk
// contiguously first, so a same-shape op indexes one flat dim. Traffic: each output element
// written once, each operand element read once per use (broadcast reuse hits in L2).
#include "deepkern/portable.cuh"
#include "elementwise/elementwise_bodies.cuh"

namespace dk {
namespace DK_BACKEND {

template <typename T>
__global__ void binary_kernel(BinaryArgs a) {
    const int64_t stride = int64_t(blockDim.x) * gridDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < a.numel; i += stride) binary_element<T>(a, i);
}

void binary(const Exec& ex, DType dtype, const BinaryArgs& a) {
    if (a.numel == 0) return;
    dispatch_all(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        launch(ex, "binary", binary_kernel<T>, dim3(grid_for(ex, a.numel, 256)), dim3(256), 0, a);
    });
}

}  // namespace DK_BACKEND
}  // namespace dk
