// roofline.h - the bench family's backend contract: the FMA-bound kernel behind dk_roofline_fma
// (deepkern_testing.h), the arithmetic ceiling of ./deepkern bench.
#pragma once

#include "deepkern/backend.h"

DK_BACKEND_FUNCTIONS(
    void roofline_fma(const Exec&, float* out, int64_t n, int iterations);
)
