package org.deepkern.testing;

/**
 * Plain double-precision references for the row-wise ops (softmax, log_softmax, layer_norm,
 * rms_norm) and the rotary embedding, written from the definitions. Arrays are [rows, cols]
 * row-major. Each also returns a magnitude per element (the same sums over absolute values) that
 * tests scale their absolute tolerance by, so cancellation is not mistaken for error.
 */
public final class RowReference {
    private RowReference() {}

    /** A value and the magnitude of the terms it was summed from. */
    public record Out(double[] value, double[] mag) {}

    public static Out softmax(float[] x, int rows, int cols, boolean log) {
        double[] v = new double[x.length], mag = new double[x.length];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double m = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) m = Math.max(m, x[o + c]);
            double s = 0;
            for (int c = 0; c < cols; c++) s += Math.exp(x[o + c] - m);
            for (int c = 0; c < cols; c++) {
                double d = x[o + c] - m;
                v[o + c] = log ? d - Math.log(s) : Math.exp(d) / s;
                mag[o + c] = log ? Math.abs(d) + Math.abs(Math.log(s)) + 1 : Math.abs(v[o + c]);
            }
        }
        return new Out(v, mag);
    }

    /** From the forward's output y: softmax y (dy - sum dy y); log_softmax dy - exp(y) sum dy. */
    public static Out softmaxBackward(float[] y, float[] dy, int rows, int cols, boolean log) {
        double[] v = new double[y.length], mag = new double[y.length];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double s = 0, sa = 0;
            for (int c = 0; c < cols; c++) {
                double t = log ? dy[o + c] : (double) dy[o + c] * y[o + c];
                s += t;
                sa += Math.abs(t);
            }
            for (int c = 0; c < cols; c++) {
                v[o + c] = log ? dy[o + c] - Math.exp(y[o + c]) * s : y[o + c] * (dy[o + c] - s);
                mag[o + c] = log ? Math.abs(dy[o + c]) + Math.exp(y[o + c]) * sa : Math.abs(y[o + c]) * (Math.abs(dy[o + c]) + sa);
            }
        }
        return new Out(v, mag);
    }

    /** {mean, 1 / sqrt(var + eps)} of row x[o, o + cols); the mean is 0 for rms_norm. */
    private static double[] stats(float[] x, int o, int cols, double eps, boolean rms) {
        double mean = 0;
        if (!rms) {
            for (int c = 0; c < cols; c++) mean += x[o + c];
            mean /= cols;
        }
        double var = 0;
        for (int c = 0; c < cols; c++) var += (x[o + c] - mean) * (x[o + c] - mean);
        return new double[] {mean, 1 / Math.sqrt(var / cols + eps)};
    }

    /** layer_norm (rms false) or rms_norm (rms true); weight, bias may be null. */
    public static Out norm(float[] x, float[] w, float[] b, int rows, int cols, double eps, boolean rms) {
        double[] v = new double[x.length], mag = new double[x.length];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double[] st = stats(x, o, cols, eps, rms);
            double mean = st[0], rstd = st[1];
            for (int c = 0; c < cols; c++) {
                double xh = (x[o + c] - mean) * rstd;
                double y = xh * (w == null ? 1 : w[c]);
                v[o + c] = y + (b == null ? 0 : b[c]);
                mag[o + c] = (Math.abs(xh) + 1) * (w == null ? 1 : Math.abs(w[c])) + (b == null ? 0 : Math.abs(b[c]));
            }
        }
        return new Out(v, mag);
    }

    /** Gradients of a norm: dx [rows*cols], dw [cols], db [cols], with magnitudes. */
    public record NormGrad(Out dx, Out dw, Out db) {}

    public static NormGrad normBackward(float[] x, float[] w, float[] dy, int rows, int cols, double eps, boolean rms) {
        double[] dx = new double[x.length], dxm = new double[x.length];
        double[] dw = new double[cols], dwm = new double[cols], db = new double[cols], dbm = new double[cols];
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            double[] st = stats(x, o, cols, eps, rms);
            double mean = st[0], rstd = st[1];
            double[] xh = new double[cols], g = new double[cols];
            double mg = 0, mgx = 0, mga = 0, mgxa = 0;
            for (int c = 0; c < cols; c++) {
                xh[c] = (x[o + c] - mean) * rstd;
                g[c] = dy[o + c] * (w == null ? 1.0 : w[c]);
                mg += g[c] / cols;
                mgx += g[c] * xh[c] / cols;
                mga += Math.abs(g[c]) / cols;
                mgxa += Math.abs(g[c] * xh[c]) / cols;
            }
            if (rms) {
                mg = 0;
                mga = 0;
            }
            for (int c = 0; c < cols; c++) {
                dx[o + c] = rstd * (g[c] - mg - xh[c] * mgx);
                dxm[o + c] = rstd * (Math.abs(g[c]) + mga + Math.abs(xh[c]) * mgxa + Math.abs(xh[c]) * mga);
                dw[c] += dy[o + c] * xh[c];
                dwm[c] += Math.abs(dy[o + c] * xh[c]);
                db[c] += dy[o + c];
                dbm[c] += Math.abs(dy[o + c]);
            }
        }
        return new NormGrad(new Out(dx, dxm), new Out(dw, dwm), new Out(db, dbm));
    }

    /** Rotary embedding of x [bh, seq, dim] turning by sign * theta; angles in double. */
    public static Out rope(float[] x, int bh, int seq, int dim, boolean interleaved, double base, long offset, double sign) {
        double[] v = new double[x.length], mag = new double[x.length];
        int half = dim / 2;
        for (int row = 0; row < bh * seq; row++) {
            long pos = row % seq + offset;
            for (int i = 0; i < half; i++) {
                double theta = sign * pos * Math.pow(base, -2.0 * i / dim);
                int ia = row * dim + (interleaved ? 2 * i : i), ib = ia + (interleaved ? 1 : half);
                double a = x[ia], b = x[ib], c = Math.cos(theta), s = Math.sin(theta);
                v[ia] = a * c - b * s;
                v[ib] = a * s + b * c;
                // the op's angle is an f32 product: its error, ~1e-7 |theta|, grows with the position
                mag[ia] = mag[ib] = (Math.abs(a) + Math.abs(b)) * (1 + 0.1 * Math.abs(theta));
            }
        }
        return new Out(v, mag);
    }
}
