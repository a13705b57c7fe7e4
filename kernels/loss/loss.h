// loss.h - the loss family's backend contract: the element-wise losses (mse, l1, smooth l1, binary
// cross-entropy with logits), cross-entropy over class rows and CenterNet's focal loss, forward and
// backward, with deterministic MEAN / SUM reductions.
#pragma once

#include "deepkern/backend.h"

namespace dk {

// deepkern.h's dk_loss_kind.
enum class LossKind : int32_t { mse, l1, smooth_l1, bce_with_logits, cross_entropy, centernet_focal };

// deepkern.h's dk_reduction, plus the focal loss's own: the sum over max(1, count).
enum class LossReduction : int32_t { none, mean, sum, per_positive };

// One loss call. Items: the elements of input (element-wise losses, focal loss) or the rows of
// cross-entropy (n = N * inner rows of `classes` logits, class c of row r at
// (r / inner) * classes * inner + c * inner + r % inner). All tensors compact.
struct LossArgs {
    LossKind kind;
    LossReduction reduction;
    float beta;               // smooth l1's beta; the focal loss's beta
    float alpha;              // the focal loss's alpha
    float smoothing;          // cross-entropy's label smoothing
    int64_t ignore_index;     // cross-entropy
    const void* input;        // the input's dtype (logits for cross-entropy, bce, focal)
    const void* target;       // input's dtype; cross-entropy: i32 or i64 per target_i64
    const void* pos_weight;   // bce: null, or pos_weight_len elements of input's dtype
    const void* grad_out;     // backward: a scalar (mean, sum, per_positive) or n items (none)
    void* out;                // forward: the loss (a scalar or n items); backward: input's gradient
    int64_t n;                // items
    int64_t classes, inner;   // cross-entropy
    int64_t pos_weight_len;   // bce: 1, or the input's last extent (the weight of element i is i % len)
    int32_t target_i64;       // cross-entropy
    void* workspace;          // as the _workspace function asked
};

// Items per partial sum of a reduction: every backend sums item i of chunk k (k = i / kLossChunk)
// in lane (i % kLossChunk) % kLossLanes, the lane's items in index order, then the lanes in a fixed
// halving tree; the chunks' partial sums are summed the same way. The bits depend on neither the
// grid nor the thread count.
constexpr int kLossLanes = 256;
constexpr int64_t kLossChunk = 16 * kLossLanes;

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void loss_forward_workspace(const Exec&, DType, const LossArgs&, int64_t* bytes);
    void loss_forward(const Exec&, DType, const LossArgs&);
    void loss_backward_workspace(const Exec&, DType, const LossArgs&, int64_t* bytes);
    void loss_backward(const Exec&, DType, const LossArgs&);
)
