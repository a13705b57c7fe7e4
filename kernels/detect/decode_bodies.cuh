// decode_bodies.cuh - the per-prediction math of the detection decoders, shared by the kernels
// (detect/decode.cu; cuda and emu) and the cpu backend, so the published formulas, the class choice
// and the CenterNet order are one code everywhere. Inputs in any floating dtype, math in f32.
#pragma once

#include <cstdint>

#include "activation/activations.cuh"
#include "deepkern/numeric.cuh"
#include "detect/detect_bodies.cuh"
#include "detect/detect.h"

namespace dk {

// The class of the largest logit among count logits at p[0], p[step], ..., and that logit: the first
// of equal ones, the first NaN if any (as torch's max over the sigmoids, which are increasing in the
// logits; only where f32's sigmoid rounds two logits to one value does torch's first-of-equals pick
// an earlier class). One sigmoid per prediction instead of one per class.
template <typename T>
DK_HD int64_t best_class(const T* p, int64_t step, int32_t count, float& logit) {
    int64_t best = 0;
    logit = load_float(p[0]);
    for (int32_t c = 1; c < count && logit == logit; ++c) {
        const float v = load_float(p[c * step]);
        if (!(v <= logit)) {
            logit = v;
            best = c;
        }
    }
    return best;
}

// DFL (ultralytics' DFL module): the expectation sum(i * softmax(bins)_i) of reg_max bins at p[0],
// p[step], ...: a distance in grid units. The max is subtracted first, as softmax does.
template <typename T>
DK_HD float dfl_distance(const T* p, int64_t step, int32_t reg_max) {
    float m = load_float(p[0]);
    for (int32_t i = 1; i < reg_max; ++i) m = fmaxf(m, load_float(p[i * step]));
    float sum = 0.f, weighted = 0.f;
    for (int32_t i = 0; i < reg_max; ++i) {
        const float e = expf(load_float(p[i * step]) - m);
        sum += e;
        weighted += float(i) * e;
    }
    return weighted / sum;
}

// Prediction e = image * total + p of a YoloDecodeArgs: its level and cell, then the head's formula.
//   v3: centre ((sigmoid(tx) + x) s, (sigmoid(ty) + y) s), size (exp(tw) aw, exp(th) ah)
//   v5: centre ((2 sigmoid(tx) - 0.5 + x) s, ...), size ((2 sigmoid(tw))^2 aw, ...)
//       score = sigmoid(to) sigmoid(max logit) for both
//   v8: (x + 0.5 - l, y + 0.5 - t, x + 0.5 + r, y + 0.5 + b) s, (l, t, r, b) by DFL; score =
//       sigmoid(max logit)
// Reads 5 + K (v3 / v5) or 4 reg_max + K (v8) elements of one cell, channel-strided (neighbouring
// predictions are neighbouring cells: coalesced), writes 24 bytes.
template <typename T, YoloHead V>
struct YoloDecode {
    YoloDecodeArgs a;

    DK_HD void operator()(int64_t e) const {
        const int64_t image = e / a.total, p = e % a.total;
        // the level holding p, each field taken with constant indices: a dynamic index into the
        // kernel's parameters would copy them to a stack frame
        int level = 0;
        const void* head = a.head[0];
        int32_t height = a.height[0], width = a.width[0];
        float stride = a.stride[0];
        int64_t first = 0;
DK_UNROLL
        for (int l = 1; l < kDecodeMaxLevels; ++l)
            if (l < a.levels && p >= a.first[l]) {
                level = l;
                head = a.head[l];
                height = a.height[l];
                width = a.width[l];
                stride = a.stride[l];
                first = a.first[l];
            }
        const int64_t cells = int64_t(height) * width, j = p - first;
        const int anchor = int(j / cells);
        const int64_t cell = j % cells;
        const float x = float(cell % width), y = float(cell / width);
        const int32_t per_anchor = V == YoloHead::v8 ? 4 * a.reg_max + a.classes : 5 + a.classes;
        const int32_t channels = V == YoloHead::v8 ? per_anchor : a.anchors * per_anchor;
        const T* in = static_cast<const T*>(head) + (image * channels + int64_t(anchor) * per_anchor) * cells + cell;

        const int32_t box_channels = V == YoloHead::v8 ? 4 * a.reg_max : 5;
        float logit;
        const int64_t label = best_class(in + box_channels * cells, cells, a.classes, logit);
        float score = sigmoidf(logit), box[4];
        if (V == YoloHead::v8) {
            float d[4];
            for (int k = 0; k < 4; ++k) d[k] = dfl_distance(in + int64_t(k) * a.reg_max * cells, cells, a.reg_max);
            box[0] = (x + 0.5f - d[0]) * stride;
            box[1] = (y + 0.5f - d[1]) * stride;
            box[2] = (x + 0.5f + d[2]) * stride;
            box[3] = (y + 0.5f + d[3]) * stride;
        } else {
            float aw = 0.f, ah = 0.f;
DK_UNROLL
            for (int l = 0; l < kDecodeMaxLevels; ++l)
DK_UNROLL
                for (int k = 0; k < kDecodeMaxAnchors; ++k)
                    if (l == level && k == anchor) {
                        aw = a.anchor[l][k][0];
                        ah = a.anchor[l][k][1];
                    }
            const float sx = sigmoidf(load_float(in[0])), sy = sigmoidf(load_float(in[cells]));
            const float tw = load_float(in[2 * cells]), th = load_float(in[3 * cells]);
            float cx, cy, w, h;
            if (V == YoloHead::v3) {
                cx = (sx + x) * stride;
                cy = (sy + y) * stride;
                w = expf(tw) * aw;
                h = expf(th) * ah;
            } else {
                cx = (2.f * sx - 0.5f + x) * stride;
                cy = (2.f * sy - 0.5f + y) * stride;
                const float gw = 2.f * sigmoidf(tw), gh = 2.f * sigmoidf(th);
                w = gw * gw * aw;
                h = gh * gh * ah;
            }
            box[0] = cx - 0.5f * w;
            box[1] = cy - 0.5f * h;
            box[2] = cx + 0.5f * w;
            box[3] = cy + 0.5f * h;
            score *= sigmoidf(load_float(in[4 * cells]));
        }
        for (int k = 0; k < 4; ++k) a.boxes[4 * e + k] = box[k];
        a.scores[e] = score;
        a.labels[e] = label;
    }
};

// CenterNet's _nms: the heat (sigmoid of the logit) of element e of [n, classes, H, W] where it
// equals the 3x3 max around it (padding 1: a plateau's equal values all stay), else 0; NaN nowhere
// (torch's max pool propagates NaN, and NaN == max is false). Its f32 bits: a key whose unsigned
// order is the score order (every score is >= +0). Reads the 9 neighbours' logits, writes 4 bytes.
template <typename T>
struct CenterNetScore {
    CenterNetArgs a;
    uint32_t* keys;

    DK_HD void operator()(int64_t e) const {
        const int64_t x = e % a.width, y = e / a.width % a.height;
        const T* plane = static_cast<const T*>(a.heat) + (e - x - y * a.width);
        const float h = sigmoidf(load_float(plane[y * a.width + x]));
        bool peak = h == h;
        for (int64_t v = y > 0 ? y - 1 : 0; v <= y + 1 && v < a.height; ++v)
            for (int64_t u = x > 0 ? x - 1 : 0; u <= x + 1 && u < a.width; ++u)
                peak = peak && sigmoidf(load_float(plane[v * a.width + u])) <= h;
        keys[e] = peak ? float_to_bits(h) : 0u;
    }
};

// Detection slot of image `image` from its top-K key: box (x + off_x -+ w / 2, y + off_y -+ h / 2)
// * down_ratio (cell centres, x + 0.5, without offsets), the score, the class.
template <typename T>
DK_HD void centernet_emit(const CenterNetArgs& a, int64_t image, int64_t slot, uint64_t key) {
    const int64_t flat = rank_key_index(key), cells = int64_t(a.height) * a.width, cell = flat % cells;
    const int64_t at = image * 2 * cells + cell;
    const T* wh = static_cast<const T*>(a.wh);
    const T* off = static_cast<const T*>(a.offset);
    const float cx = float(cell % a.width) + (off ? load_float(off[at]) : 0.5f);
    const float cy = float(cell / a.width) + (off ? load_float(off[at + cells]) : 0.5f);
    const float hw = 0.5f * load_float(wh[at]), hh = 0.5f * load_float(wh[at + cells]);
    const int64_t o = image * a.k + slot;
    a.boxes[4 * o] = (cx - hw) * a.down_ratio;
    a.boxes[4 * o + 1] = (cy - hh) * a.down_ratio;
    a.boxes[4 * o + 2] = (cx + hw) * a.down_ratio;
    a.boxes[4 * o + 3] = (cy + hh) * a.down_ratio;
    a.scores[o] = bits_to_float(rank_key_value(key));
    a.labels[o] = flat / cells;
}

}  // namespace dk
