package org.deepkern.conv;

import org.deepkern.ops.Conv2dParams;
/**
 * 2-D convolution written plainly from its definition in double precision: the independent
 * reference of the Conv tests. Everything here is NCHW with torch's weight layouts; the tests
 * permute to and from NHWC. Gradients scatter (each output tap adds into what it read), where the
 * library gathers, so the two are written differently.
 */
final class ConvReference {
    private ConvReference() {}

    /** A conv's geometry: x [n, c, h, w], w [k, c/groups, r, s]. */
    record Geom(int n, int c, int h, int w, int k, int r, int s, int sh, int sw, int pt, int pb, int pl, int pr, int dh,
                int dw, int groups) {
        int p() {
            return (h + pt + pb - dh * (r - 1) - 1) / sh + 1;
        }

        int q() {
            return (w + pl + pr - dw * (s - 1) - 1) / sw + 1;
        }

        int cg() {
            return c / groups;
        }

        int kg() {
            return k / groups;
        }

        int xSize() {
            return n * c * h * w;
        }

        int wSize() {
            return k * cg() * r * s;
        }

        int ySize() {
            return n * k * p() * q();
        }

        Conv2dParams params(Conv2dParams.Layout layout) {
            return Conv2dParams.defaults().withLayout(layout).withStride(sh, sw).withPadding(pt, pb, pl, pr)
                    .withDilation(dh, dw).withGroups(groups);
        }

        @Override
        public String toString() {
            return "n" + n + " c" + c + " " + h + "x" + w + " k" + k + " " + r + "x" + s + " stride " + sh + "," + sw
                    + " pad " + pt + "," + pb + "," + pl + "," + pr + " dil " + dh + "," + dw + " g" + groups;
        }
    }

    /** One tap of the sum: y[yi] reads x[xi] through w[wi] (NCHW and torch's weight layout). */
    interface Tap {
        void at(int yi, int xi, int wi);
    }

    /**
     * Every (output element, input element, weight) triple of the convolution with the input
     * element inside the image, outputs in order and each output's taps in (c, r, s) order.
     */
    static void forEachTap(Geom g, Tap tap) {
        int P = g.p(), Q = g.q();
        for (int n = 0; n < g.n; n++)
            for (int k = 0; k < g.k; k++) {
                int grp = k / g.kg();
                for (int p = 0; p < P; p++)
                    for (int q = 0; q < Q; q++) {
                        int yi = ((n * g.k + k) * P + p) * Q + q;
                        for (int cg = 0; cg < g.cg(); cg++) {
                            int c = grp * g.cg() + cg;
                            for (int r = 0; r < g.r; r++)
                                for (int s = 0; s < g.s; s++) {
                                    int h = p * g.sh - g.pt + r * g.dh, wc = q * g.sw - g.pl + s * g.dw;
                                    if (h < 0 || h >= g.h || wc < 0 || wc >= g.w) continue;
                                    tap.at(yi, ((n * g.c + c) * g.h + h) * g.w + wc, ((k * g.cg() + cg) * g.r + r) * g.s + s);
                                }
                        }
                    }
            }
    }

    /** y = conv(x, w) + bias (bias may be null). */
    static double[] forward(Geom g, double[] x, double[] w, double[] bias) {
        double[] y = new double[g.ySize()];
        if (bias != null) {
            int PQ = g.p() * g.q();
            for (int i = 0; i < y.length; i++) y[i] = bias[i / PQ % g.k];
        }
        forEachTap(g, (yi, xi, wi) -> y[yi] += x[xi] * w[wi]);
        return y;
    }

    /** dL/dx for L = sum(gy * conv(x, w)), scattered from every output tap. */
    static double[] backwardData(Geom g, double[] gy, double[] w) {
        double[] dx = new double[g.xSize()];
        forEachTap(g, (yi, xi, wi) -> dx[xi] += gy[yi] * w[wi]);
        return dx;
    }

    /** dL/dw, scattered the same way. */
    static double[] backwardWeight(Geom g, double[] x, double[] gy) {
        double[] dw = new double[g.wSize()];
        forEachTap(g, (yi, xi, wi) -> dw[wi] += gy[yi] * x[xi]);
        return dw;
    }

    /** dL/dbias: gy summed over n, p, q. */
    static double[] backwardBias(Geom g, double[] gy) {
        int PQ = g.p() * g.q();
        double[] db = new double[g.k];
        for (int n = 0; n < g.n; n++)
            for (int k = 0; k < g.k; k++)
                for (int i = 0; i < PQ; i++) db[k] += gy[(n * g.k + k) * PQ + i];
        return db;
    }

    /** A transposed conv's geometry: x [n, cin, h, w], w [cin, cout/groups, r, s], symmetric padding. */
    record TGeom(int n, int cin, int h, int w, int cout, int r, int s, int sh, int sw, int ph, int pw, int oph, int opw,
                 int dh, int dw, int groups) {
        int ho() {
            return (h - 1) * sh - 2 * ph + dh * (r - 1) + oph + 1;
        }

        int wo() {
            return (w - 1) * sw - 2 * pw + dw * (s - 1) + opw + 1;
        }

        int cog() {
            return cout / groups;
        }

        Conv2dParams params(Conv2dParams.Layout layout) {
            return Conv2dParams.defaults().withLayout(layout).withStride(sh, sw).withPadding(ph, pw).withDilation(dh, dw)
                    .withGroups(groups).withOutputPadding(oph, opw);
        }

        @Override
        public String toString() {
            return "n" + n + " cin" + cin + " " + h + "x" + w + " cout" + cout + " " + r + "x" + s + " stride " + sh + ","
                    + sw + " pad " + ph + "," + pw + " outpad " + oph + "," + opw + " dil " + dh + "," + dw + " g" + groups;
        }
    }

    /** torch conv_transpose2d from its definition: every input element scatters x * w into the output. */
    static double[] transpose(TGeom g, double[] x, double[] w, double[] bias) {
        int Ho = g.ho(), Wo = g.wo(), cinG = g.cin / g.groups;
        double[] y = new double[g.n * g.cout * Ho * Wo];
        for (int n = 0; n < g.n; n++)
            for (int ci = 0; ci < g.cin; ci++) {
                int grp = ci / cinG;
                for (int i = 0; i < g.h; i++)
                    for (int j = 0; j < g.w; j++) {
                        double xv = x[((n * g.cin + ci) * g.h + i) * g.w + j];
                        for (int co = 0; co < g.cog(); co++)
                            for (int r = 0; r < g.r; r++)
                                for (int s = 0; s < g.s; s++) {
                                    int oh = i * g.sh - g.ph + r * g.dh, ow = j * g.sw - g.pw + s * g.dw;
                                    if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                                    int c = grp * g.cog() + co;
                                    y[((n * g.cout + c) * Ho + oh) * Wo + ow] += xv * w[((ci * g.cog() + co) * g.r + r) * g.s + s];
                                }
                    }
            }
        if (bias != null)
            for (int n = 0; n < g.n; n++)
                for (int c = 0; c < g.cout; c++)
                    for (int i = 0; i < Ho * Wo; i++) y[(n * g.cout + c) * Ho * Wo + i] += bias[c];
        return y;
    }

    /** [a, b, c, d] row-major to [a, c, d, b] (NCHW to NHWC, or [K, Cg, R, S] to [K, R, S, Cg]). */
    static double[] toLast(double[] v, int a, int b, int c, int d) {
        double[] out = new double[v.length];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                for (int k = 0; k < c; k++)
                    for (int l = 0; l < d; l++) out[((i * c + k) * d + l) * b + j] = v[((i * b + j) * c + k) * d + l];
        return out;
    }

    /** The inverse of toLast: [a, c, d, b] back to [a, b, c, d]. */
    static double[] fromLast(float[] v, int a, int b, int c, int d) {
        double[] out = new double[v.length];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                for (int k = 0; k < c; k++)
                    for (int l = 0; l < d; l++) out[((i * b + j) * c + k) * d + l] = v[((i * c + k) * d + l) * b + j];
        return out;
    }

    static double[] abs(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Math.abs(v[i]);
        return out;
    }
}
