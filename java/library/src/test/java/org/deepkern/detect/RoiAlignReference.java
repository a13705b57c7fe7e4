package org.deepkern.detect;

import java.util.Arrays;

/**
 * torchvision.ops.roi_align and its input gradient (_roi_align_backward), written plainly from
 * torchvision's kernels (roi_align_kernel.cpp / .cu), for the tests only.
 *
 * <p>A roi's geometry and its sample positions are f32, as torchvision computes them for float
 * tensors: which samples fall inside [-1, H] (the bilinear rule jumps there, from a tap's value to 0)
 * and the adaptive grid's ceil are then decided by the roundings the op itself makes, where a double
 * position within an f32 rounding of a border would decide by chance. Everything after the position -
 * the taps' weights, the interpolation, the averages, the gradient's sums - is double. Every sample
 * of a bin's grid is looked at (each axis scanned in full, no search), only those inside the image
 * interpolated. Defined where torchvision is not (deepkern.h): a roi whose batch index, truncated
 * toward zero, is outside [0, N) or NaN, or whose scaled corners or size are not finite, has no
 * samples; an adaptive grid is at most 2^31 - 1 a side.
 */
final class RoiAlignReference {
    final int n, c, h, w, outH, outW, samplingRatio;
    final float scale;
    final boolean aligned;

    RoiAlignReference(int n, int c, int h, int w, int outH, int outW, double spatialScale, int samplingRatio, boolean aligned) {
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.outH = outH;
        this.outW = outW;
        this.scale = (float) spatialScale;
        this.samplingRatio = samplingRatio;
        this.aligned = aligned;
    }

    /** One axis of a roi: where its bins start, their size, samples per bin side. */
    record Axis(float start, float bin, int grid) {
        /** torchvision's position of sample i of bin p, in f32 left to right. */
        float at(int p, int i) {
            return start + (float) p * bin + ((float) i + 0.5f) * bin / (float) grid;
        }

        /** The samples i of bin p inside [-1, size], by a scan of the whole grid. */
        int[] inside(int p, int size) {
            int[] out = new int[16];
            int count = 0;
            for (int i = 0; i < grid; i++) {
                float s = at(p, i);
                if (s >= -1 && s <= size) {
                    if (count == out.length) out = Arrays.copyOf(out, 2 * count);
                    out[count++] = i;
                }
            }
            return Arrays.copyOf(out, count);
        }
    }

    /** A roi: its image (-1: no samples), axes and the average's divisor. */
    record Roi(int batch, Axis y, Axis x, double count) {}

    private int grid(float bin) {
        if (samplingRatio > 0) return samplingRatio;
        if (!(bin > 0)) return 0;
        return (int) Math.min(Math.ceil(bin), Integer.MAX_VALUE);
    }

    Roi roi(float[] boxes, int k) {
        float index = boxes[5 * k];
        float offset = aligned ? 0.5f : 0f;
        float x1 = boxes[5 * k + 1] * scale - offset, y1 = boxes[5 * k + 2] * scale - offset;
        float x2 = boxes[5 * k + 3] * scale - offset, y2 = boxes[5 * k + 4] * scale - offset;
        float rw = x2 - x1, rh = y2 - y1;
        if (!aligned) {
            rw = rw > 1 ? rw : 1;
            rh = rh > 1 ? rh : 1;
        }
        Roi none = new Roi(-1, new Axis(0, 0, 0), new Axis(0, 0, 0), 1);
        for (float v : new float[] {x1, y1, x2, y2, rw, rh})
            if (!Float.isFinite(v)) return none;
        if (!(index > -1) || (long) index >= n) return none;
        float binH = rh / (float) outH, binW = rw / (float) outW;
        Axis ay = new Axis(y1, binH, grid(binH)), ax = new Axis(x1, binW, grid(binW));
        return new Roi((int) index, ay, ax, Math.max((double) ay.grid() * ax.grid(), 1));
    }

    /** A position's taps on an axis of size pixels: {low, high} and their weights {1 - l, l}. */
    private static void taps(float s, int size, int[] at, double[] weight) {
        double v = s <= 0 ? 0 : s;
        int low = (int) v, high;
        if (low >= size - 1) {
            low = high = size - 1;
            v = low;
        } else {
            high = low + 1;
        }
        double l = v - low;
        at[0] = low;
        at[1] = high;
        weight[0] = 1 - l;
        weight[1] = l;
    }

    /**
     * roi_align(x) for x [N, C, H, W] and boxes [K, 5]: {out [K, C, outH, outW], the sums of the
     * terms' magnitudes over the same count (what rounding errors scale with)}.
     */
    double[][] forward(double[] x, float[] boxes, int k) {
        double[] out = new double[k * c * outH * outW], mag = new double[out.length];
        int[] ty = new int[2], tx = new int[2];
        double[] wy = new double[2], wx = new double[2];
        for (int r = 0; r < k; r++) {
            Roi roi = roi(boxes, r);
            if (roi.batch() < 0) continue;
            for (int ph = 0; ph < outH; ph++) {
                int[] ys = roi.y().inside(ph, h);
                for (int pw = 0; pw < outW; pw++) {
                    int[] xs = roi.x().inside(pw, w);
                    for (int ch = 0; ch < c; ch++) {
                        int plane = (roi.batch() * c + ch) * h * w;
                        double sum = 0, abs = 0;
                        for (int iy : ys) {
                            taps(roi.y().at(ph, iy), h, ty, wy);
                            for (int ix : xs) {
                                taps(roi.x().at(pw, ix), w, tx, wx);
                                for (int a = 0; a < 2; a++)
                                    for (int b = 0; b < 2; b++) {
                                        double term = wy[a] * wx[b] * x[plane + ty[a] * w + tx[b]];
                                        sum += term;
                                        abs += Math.abs(term);
                                    }
                            }
                        }
                        int o = ((r * c + ch) * outH + ph) * outW + pw;
                        out[o] = sum / roi.count();
                        mag[o] = abs / roi.count();
                    }
                }
            }
        }
        return new double[][] {out, mag};
    }

    /**
     * The input gradient for grad [K, C, outH, outW]: {grad_x [N, C, H, W], the sums of the terms'
     * magnitudes}. Each sample inside the image gives tap (a, b) grad * wy[a] wx[b] / count.
     */
    double[][] backward(double[] grad, float[] boxes, int k) {
        double[] gx = new double[n * c * h * w], mag = new double[gx.length];
        int[] ty = new int[2], tx = new int[2];
        double[] wy = new double[2], wx = new double[2];
        for (int r = 0; r < k; r++) {
            Roi roi = roi(boxes, r);
            if (roi.batch() < 0) continue;
            for (int ph = 0; ph < outH; ph++) {
                int[] ys = roi.y().inside(ph, h);
                for (int pw = 0; pw < outW; pw++) {
                    int[] xs = roi.x().inside(pw, w);
                    for (int ch = 0; ch < c; ch++) {
                        int plane = (roi.batch() * c + ch) * h * w;
                        double g = grad[((r * c + ch) * outH + ph) * outW + pw];
                        for (int iy : ys) {
                            taps(roi.y().at(ph, iy), h, ty, wy);
                            for (int ix : xs) {
                                taps(roi.x().at(pw, ix), w, tx, wx);
                                for (int a = 0; a < 2; a++)
                                    for (int b = 0; b < 2; b++) {
                                        double term = g * wy[a] * wx[b] / roi.count();
                                        gx[plane + ty[a] * w + tx[b]] += term;
                                        mag[plane + ty[a] * w + tx[b]] += Math.abs(term);
                                    }
                            }
                        }
                    }
                }
            }
        }
        return new double[][] {gx, mag};
    }
}
