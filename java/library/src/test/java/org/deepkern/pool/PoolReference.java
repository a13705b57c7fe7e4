package org.deepkern.pool;

/**
 * 2-D pooling in double precision on NCHW arrays, written as torch's CPU loops are (window start and
 * end clipped to the image, the start walked in by the dilation), independent of deepkern's
 * tap-based kernels; the backward scatters where the kernels gather.
 */
final class PoolReference {
    private PoolReference() {}

    /** A window {kh, kw, sh, sw, ph, pw, dh, dw} with its modes, or adaptive bins (window null). */
    record Spec(boolean max, int[] window, boolean ceil, boolean countIncludePad, int divisor, int outH, int outW) {
        static Spec windowed(boolean max, int[] window, boolean ceil, boolean countIncludePad, int divisor) {
            return new Spec(max, window, ceil, countIncludePad, divisor, 0, 0);
        }

        static Spec adaptive(boolean max, int outH, int outW) {
            return new Spec(max, null, false, false, 0, outH, outW);
        }

        int out(int in, int axis) {
            if (window == null) return axis == 0 ? outH : outW;
            int k = window[axis], s = window[2 + axis], p = window[4 + axis], d = window[6 + axis];
            long num = in + 2L * p - (long) d * (k - 1) - 1 + (ceil ? s - 1 : 0);
            long o = Math.floorDiv(num, s) + 1;
            if (ceil && (o - 1) * s >= in + p) o--;
            return (int) o;
        }
    }

    /** The forward's value and argmax (h * W + w; max only) per output element, NCHW. */
    record Out(double[] value, long[] index) {}

    static Out forward(Spec sp, float[] x, int n, int c, int h, int w) {
        int oh = sp.out(h, 0), ow = sp.out(w, 1);
        double[] value = new double[n * c * oh * ow];
        long[] index = new long[value.length];
        for (int plane = 0; plane < n * c; plane++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int o = (plane * oh + i) * ow + j;
                    Window r = window(sp, i, h, oh, 0), q = window(sp, j, w, ow, 1);
                    if (sp.max()) {
                        double best = Double.NEGATIVE_INFINITY;
                        long at = (long) r.start * w + q.start;
                        for (int y = r.start; y < r.end; y += r.step)
                            for (int z = q.start; z < q.end; z += q.step) {
                                double v = x[(plane * h + y) * w + z];
                                if (v > best || Double.isNaN(v)) {
                                    best = v;
                                    at = (long) y * w + z;
                                }
                            }
                        value[o] = best;
                        index[o] = at;
                    } else {
                        double sum = 0;
                        for (int y = r.start; y < r.end; y++)
                            for (int z = q.start; z < q.end; z++) sum += x[(plane * h + y) * w + z];
                        value[o] = sum / divisor(sp, r, q);
                    }
                }
        return new Out(value, index);
    }

    /** The gradient of x [n, c, h, w] for gradOut, scattered from each output (max: to its index). */
    static double[] backward(Spec sp, float[] gradOut, long[] index, int n, int c, int h, int w) {
        int oh = sp.out(h, 0), ow = sp.out(w, 1);
        double[] grad = new double[n * c * h * w];
        for (int plane = 0; plane < n * c; plane++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int o = (plane * oh + i) * ow + j;
                    if (sp.max()) {
                        grad[plane * h * w + (int) index[o]] += gradOut[o];
                        continue;
                    }
                    Window r = window(sp, i, h, oh, 0), q = window(sp, j, w, ow, 1);
                    double share = gradOut[o] / divisor(sp, r, q);
                    for (int y = r.start; y < r.end; y++)
                        for (int z = q.start; z < q.end; z++) grad[(plane * h + y) * w + z] += share;
                }
        return grad;
    }

    /** Positions start, start + step, ... below end inside the image; padded = the average's padded size. */
    private record Window(int start, int end, int step, int padded) {}

    private static Window window(Spec sp, int o, int in, int out, int axis) {
        if (sp.window() == null) {
            int start = (int) Math.floorDiv((long) o * in, out);
            int end = (int) -Math.floorDiv(-(long) (o + 1) * in, out);
            return new Window(start, end, 1, end - start);
        }
        int k = sp.window()[axis], s = sp.window()[2 + axis], p = sp.window()[4 + axis], d = sp.window()[6 + axis];
        int start = o * s - p;
        if (sp.max()) {
            int end = Math.min(start + (k - 1) * d + 1, in);
            while (start < 0) start += d;
            return new Window(start, end, d, 0);
        }
        int end = Math.min(start + k, in + p), padded = end - start;
        return new Window(Math.max(start, 0), Math.min(end, in), 1, padded);
    }

    private static double divisor(Spec sp, Window r, Window q) {
        if (sp.divisor() != 0) return sp.divisor();
        if (sp.countIncludePad()) return (double) r.padded * q.padded;
        return (double) (r.end - r.start) * (q.end - q.start);
    }
}
