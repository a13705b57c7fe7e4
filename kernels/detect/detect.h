// detect.h - the detection family's backend contract (torchvision.ops): box conversions, areas,
// clipping, pairwise IoU, and non-maximum suppression (plain or per class).
#pragma once

#include "deepkern/backend.h"

namespace dk {

enum class BoxFormat : int32_t { xyxy = 0, xywh = 1, cxcywh = 2 };

// One box in, one result out: a box in out_fmt (convert), its area, or the box clipped to the image.
enum class BoxOp : int32_t { convert = 0, area = 1, clip = 2 };

// boxes src [count, 4] -> dst [count, 4] (convert, clip) or [count] (area), one dtype.
struct BoxMapArgs {
    const void* src;
    void* dst;
    int64_t count;
    BoxOp op;
    BoxFormat in_fmt, out_fmt;  // convert
    float height, width;        // clip: x to [0, width], y to [0, height]
};

// a [n, 4], b [m, 4] (xyxy) -> out [n, m], one dtype.
struct BoxIouArgs {
    const void* a;
    const void* b;
    void* out;
    int64_t n, m;
};

// The suppression mask packs 64 boxes to a word; the single-block walk keeps one bit per box in
// shared memory, so n is bounded by the 99 KiB every GPU the cuda backend runs on grants a block.
constexpr int kNmsWordBits = 64;
constexpr int64_t kNmsMaxBoxes = int64_t(kNmsWordBits) * (99 * 1024 / 8);

// boxes [n, 4] (xyxy) and scores [n] in one floating dtype; classes (null: one class) int32 or int64
// [n]. keep [n] receives the kept indices first, by decreasing score; *count (device memory) how
// many. workspace: what nms_workspace asked for.
struct NmsArgs {
    const void* boxes;
    const void* scores;
    const void* classes;
    bool classes64;
    int64_t n;
    float threshold;
    int64_t* keep;
    int64_t* count;
    void* workspace;
};

}  // namespace dk

DK_BACKEND_FUNCTIONS(
    void box_map(const Exec&, DType, const BoxMapArgs&);
    void box_iou(const Exec&, DType, const BoxIouArgs&);
    void nms_workspace(const Exec&, DType, const NmsArgs&, int64_t* bytes);
    void nms(const Exec&, DType, const NmsArgs&);
)
