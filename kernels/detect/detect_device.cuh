// detect_device.cuh - device code shared by the detection family's kernel files (nms.cu, decode.cu):
// the bitonic compare-exchange that the NMS sort and the CenterNet top-K sort both use. Include
// after portable.cuh.
#pragma once

#include <cstdint>

namespace dk {
namespace DK_BACKEND {

// The compare-exchange of bitonic step (k, j) on the pair whose lower index is lo (bit j clear):
// ascending where bit k of lo is clear.
DK_HD void bitonic_pair(uint64_t& x, uint64_t& y, bool ascending) {
    if ((x > y) == ascending) {
        const uint64_t t = x;
        x = y;
        y = t;
    }
}
DK_HD int64_t bitonic_lower(int64_t pair, int64_t j) { return 2 * pair - (pair & (j - 1)); }

}  // namespace DK_BACKEND
}  // namespace dk
