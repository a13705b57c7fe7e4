// image.cuh - where the elements of an image batch live: [N, C, H, W] (NCHW) or [N, H, W, C] (NHWC),
// addressed by plane nc = n * C + c and pixel (y, x), for the families that walk images element by
// element (pool, resize).
#pragma once

#include <cstdint>

#include "deepkern/numeric.cuh"

namespace dk {

struct ImageLayout {
    int64_t c;
    bool nhwc;

    // Element e of a rows x cols image as (plane nc, y, x).
    DK_HD void split(int64_t e, int64_t rows, int64_t cols, int64_t& nc, int64_t& y, int64_t& x) const {
        if (nhwc) {
            const int64_t ch = e % c;
            e /= c;
            x = e % cols;
            e /= cols;
            y = e % rows;
            nc = e / rows * c + ch;
        } else {
            x = e % cols;
            e /= cols;
            y = e % rows;
            nc = e / rows;
        }
    }
    // Where plane nc's pixel (0, 0) is, and the distance between neighbouring pixels.
    DK_HD int64_t plane(int64_t nc, int64_t rows, int64_t cols) const {
        return nhwc ? nc / c * rows * cols * c + nc % c : nc * rows * cols;
    }
    DK_HD int64_t pixel() const { return nhwc ? c : 1; }
    DK_HD int64_t at(int64_t nc, int64_t y, int64_t x, int64_t rows, int64_t cols) const {
        return plane(nc, rows, cols) + (y * cols + x) * pixel();
    }
};

}  // namespace dk
