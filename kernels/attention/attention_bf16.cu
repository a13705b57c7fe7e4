// attention_bf16.cu - the bf16 instantiation of the attention kernels (attention/attention_kernels.cuh),
// in its own file so it compiles in parallel with the others; kernels/attention/attention.cu dispatches to it.
#include "attention/attention_kernels.cuh"

namespace dk {
namespace DK_BACKEND {

template void attention_forward_typed<bf16>(const Exec&, const AttentionArgs&);
template void attention_backward_typed<bf16>(const Exec&, DType, const AttentionArgs&);

}  // namespace DK_BACKEND
}  // namespace dk
