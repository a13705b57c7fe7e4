package org.deepkern.resize;

import org.deepkern.ops.InterpolationMode;

/**
 * torch's interpolate as dense matrices in double: out = Wh X Wh^T per plane, the gradient
 * Wh^T G Ww; independent of deepkern's tap walk and its gather. Source positions and indices are
 * computed in f32 as torch's kernels compute them (that is the definition an index can flip on);
 * the weights and sums in double.
 */
final class ResizeReference {
    private ResizeReference() {}

    /** The [out][in] weights of one axis; factor = the scale factor the size came from, or 0. */
    static double[][] axis(InterpolationMode mode, int in, int out, double factor, boolean align, boolean aa) {
        float scale = align ? (out > 1 ? (float) (in - 1) / (out - 1) : 0f) : factor > 0 ? (float) (1.0 / factor) : (float) in / out;
        double[][] w = new double[out][in];
        for (int o = 0; o < out; o++) {
            switch (mode) {
                case NEAREST, NEAREST_EXACT -> {
                    int i;
                    if (out == in) i = o;
                    else if (out == 2 * in) i = o >> 1;
                    else {
                        float src = mode == InterpolationMode.NEAREST ? o * scale : (o + 0.5f) * scale;
                        i = (int) Math.min((long) Math.floor(src), in - 1);
                    }
                    w[o][i] = 1;
                }
                default -> {
                    if (aa) antialiased(w[o], mode, in, scale, o);
                    else if (mode == InterpolationMode.BILINEAR) bilinear(w[o], in, scale, o, align);
                    else bicubic(w[o], in, scale, o, align);
                }
            }
        }
        return w;
    }

    private static void bilinear(double[] w, int in, float scale, int o, boolean align) {
        float src = align ? scale * o : Math.max(scale * (o + 0.5f) - 0.5f, 0f);
        int i0 = (int) Math.min((long) Math.floor(src), in - 1);
        float t = Math.min(Math.max(src - i0, 0f), 1f);
        int i1 = i0 + (i0 < in - 1 ? 1 : 0);
        w[i0] += 1 - (double) t;
        w[i1] += t;
    }

    private static void bicubic(double[] w, int in, float scale, int o, boolean align) {
        float src = align ? scale * o : scale * (o + 0.5f) - 0.5f;
        int i = (int) Math.min((long) Math.floor(src), in - 1);
        double t = Math.min(Math.max(src - i, 0f), 1f), a = -0.75;
        double[] c = {conv2(t + 1, a), conv1(t, a), conv1(1 - t, a), conv2(2 - t, a)};
        for (int k = 0; k < 4; k++) w[Math.min(Math.max(i - 1 + k, 0), in - 1)] += c[k];
    }

    // cubic convolution (Keys), |x| <= 1 and 1 < |x| < 2
    private static double conv1(double x, double a) {
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    }

    private static double conv2(double x, double a) {
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    }

    /** torch's _compute_weights_aa (Pillow's): the filter stretched by the scale when downsampling. */
    private static void antialiased(double[] w, InterpolationMode mode, int in, float scale, int o) {
        float size = mode == InterpolationMode.BILINEAR ? 2 : 4;
        float support = scale >= 1 ? size * 0.5f * scale : size * 0.5f;
        float center = scale * (o + 0.5f);
        double inv = scale >= 1 ? 1.0 / scale : 1.0;
        int lo = (int) Math.max((long) (center - support + 0.5f), 0);
        int hi = (int) Math.min((long) (center + support + 0.5f), in);
        double total = 0;
        double[] f = new double[Math.max(hi - lo, 0)];
        for (int j = 0; j < f.length; j++) {
            double x = Math.abs((j + lo - (double) center + 0.5) * inv);
            f[j] = mode == InterpolationMode.BILINEAR ? Math.max(1 - x, 0)
                    : x < 1 ? conv1(x, -0.5) : x < 2 ? conv2(x, -0.5) : 0;
            total += f[j];
        }
        for (int j = 0; j < f.length; j++) w[lo + j] = total != 0 ? f[j] / total : 0;
    }

    /** out [planes, oh, ow] = wh x ww^T per plane of x [planes, h, w]. */
    static double[] apply(double[][] wh, double[][] ww, float[] x, int planes) {
        int oh = wh.length, ow = ww.length, h = wh[0].length, w = ww[0].length;
        double[] out = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double s = 0;
                    for (int y = 0; y < h; y++) {
                        if (wh[i][y] == 0) continue;
                        double row = 0;
                        for (int z = 0; z < w; z++) row += ww[j][z] * x[(p * h + y) * w + z];
                        s += wh[i][y] * row;
                    }
                    out[(p * oh + i) * ow + j] = s;
                }
        return out;
    }

    /** grad [planes, h, w] = wh^T g ww per plane of g [planes, oh, ow]. */
    static double[] transpose(double[][] wh, double[][] ww, float[] g, int planes) {
        int oh = wh.length, ow = ww.length, h = wh[0].length, w = ww[0].length;
        double[] out = new double[planes * h * w];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double gv = g[(p * oh + i) * ow + j];
                    for (int y = 0; y < h; y++) {
                        if (wh[i][y] == 0) continue;
                        for (int z = 0; z < w; z++) out[(p * h + y) * w + z] += wh[i][y] * ww[j][z] * gv;
                    }
                }
        return out;
    }
}
