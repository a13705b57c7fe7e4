// attention.cu - the backend entry points of scaled dot-product attention: dispatch on the dtype to
// the launches of attention/attention_kernels.cuh (the algorithm, the kernels and their costs are
// described there). f32 is instantiated here; f16 and bf16 in attention_f16.cu and
// attention_bf16.cu, so the three dtypes' kernels compile in parallel.
#include "attention/attention_kernels.cuh"

namespace dk {
namespace DK_BACKEND {

extern template void attention_forward_typed<f16>(const Exec&, const AttentionArgs&);
extern template void attention_forward_typed<bf16>(const Exec&, const AttentionArgs&);
extern template void attention_backward_typed<f16>(const Exec&, DType, const AttentionArgs&);
extern template void attention_backward_typed<bf16>(const Exec&, DType, const AttentionArgs&);
template void attention_forward_typed<float>(const Exec&, const AttentionArgs&);
template void attention_backward_typed<float>(const Exec&, DType, const AttentionArgs&);

void attention_forward(const Exec& ex, DType dtype, const AttentionArgs& a) {
    dispatch_floating(dtype, [&](auto tag) { attention_forward_typed<typename decltype(tag)::type>(ex, a); });
}

void attention_backward(const Exec& ex, DType dtype, const AttentionArgs& a) {
    dispatch_floating(dtype, [&](auto tag) { attention_backward_typed<typename decltype(tag)::type>(ex, dtype, a); });
}

}  // namespace DK_BACKEND
}  // namespace dk
