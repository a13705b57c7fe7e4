package org.deepkern.autograd;

import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/** Double-precision references of the recorded ops, written plainly from their definitions. */
public final class Refs {
    private Refs() {}

    public static long numel(long[] s) {
        long n = 1;
        for (long e : s) n *= e;
        return n;
    }

    public static long[] broadcast(long[] a, long[] b) {
        int n = Math.max(a.length, b.length);
        long[] s = new long[n];
        for (int i = 0; i < n; i++) {
            long x = i - (n - a.length) >= 0 ? a[i - (n - a.length)] : 1;
            long y = i - (n - b.length) >= 0 ? b[i - (n - b.length)] : 1;
            s[i] = Math.max(x, y);
        }
        return s;
    }

    /** The flat index into a tensor of shape s broadcast to out, of out's flat element i. */
    public static int source(long[] s, long[] out, int i) {
        int idx = 0, stride = 1;
        for (int d = out.length - 1, k = s.length - 1; d >= 0; d--, k--) {
            long coord = i % out[d];
            i /= out[d];
            if (k >= 0) {
                if (s[k] != 1) idx += (int) coord * stride;
                stride *= (int) s[k];
            }
        }
        return idx;
    }

    public static double[] binary(double[] a, long[] as, double[] b, long[] bs, DoubleBinaryOperator f) {
        long[] out = broadcast(as, bs);
        double[] r = new double[(int) numel(out)];
        for (int i = 0; i < r.length; i++) r[i] = f.applyAsDouble(a[source(as, out, i)], b[source(bs, out, i)]);
        return r;
    }

    public static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) r[i] = f.applyAsDouble(x[i]);
        return r;
    }

    /** x [..shape] summed over the dims marked, kept as extent 1 (then flat, so keepdim does not matter). */
    public static double[] sum(double[] x, long[] shape, boolean[] reduced, double scale) {
        long[] out = shape.clone();
        for (int d = 0; d < shape.length; d++) if (reduced[d]) out[d] = 1;
        double[] r = new double[(int) numel(out)];
        for (int i = 0; i < x.length; i++) {
            int rem = i, idx = 0, stride = 1;
            for (int d = shape.length - 1; d >= 0; d--) {
                long c = rem % shape[d];
                rem /= shape[d];
                if (!reduced[d]) idx += (int) c * stride;
                stride *= (int) out[d];
            }
            r[idx] += x[i] * scale;
        }
        return r;
    }

    public static double[] permute(double[] x, long[] shape, int[] dims) {
        int n = shape.length;
        long[] out = new long[n];
        for (int i = 0; i < n; i++) out[i] = shape[dims[i]];
        long[] inStride = new long[n];
        long st = 1;
        for (int d = n - 1; d >= 0; d--) {
            inStride[d] = st;
            st *= shape[d];
        }
        double[] r = new double[x.length];
        for (int i = 0; i < r.length; i++) {
            int rem = i;
            long src = 0;
            for (int d = n - 1; d >= 0; d--) {
                long c = rem % out[d];
                rem /= out[d];
                src += c * inStride[dims[d]];
            }
            r[i] = x[(int) src];
        }
        return r;
    }

    /** a [M, K] (or [K, M] when transA) times b [K, N] (or [N, K] when transB). */
    public static double[] matmul(double[] a, double[] b, int m, int k, int n, boolean transA, boolean transB) {
        double[] r = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) s += (transA ? a[t * m + i] : a[i * k + t]) * (transB ? b[j * k + t] : b[t * n + j]);
                r[i * n + j] = s;
            }
        return r;
    }

    /** x [M, K] @ w [N, K]^T + b, then act, then + residual (act, b and residual may be null). */
    public static double[] linear(double[] x, double[] w, double[] b, int m, int k, int n, DoubleUnaryOperator act, double[] residual) {
        double[] r = matmul(x, w, m, k, n, false, true);
        for (int i = 0; i < r.length; i++) {
            double v = r[i] + (b == null ? 0 : b[i % n]);
            if (act != null) v = act.applyAsDouble(v);
            r[i] = v + (residual == null ? 0 : residual[i]);
        }
        return r;
    }

    public static double[] softmax(double[] x, int cols, boolean log) {
        double[] r = new double[x.length];
        for (int o = 0; o < x.length; o += cols) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < cols; j++) max = Math.max(max, x[o + j]);
            for (int j = 0; j < cols; j++) sum += Math.exp(x[o + j] - max);
            for (int j = 0; j < cols; j++) r[o + j] = log ? x[o + j] - max - Math.log(sum) : Math.exp(x[o + j] - max) / sum;
        }
        return r;
    }

    public static double[] norm(double[] x, double[] w, double[] b, int cols, double eps, boolean rms) {
        double[] r = new double[x.length];
        for (int o = 0; o < x.length; o += cols) {
            double mean = 0, var = 0;
            if (!rms) {
                for (int j = 0; j < cols; j++) mean += x[o + j];
                mean /= cols;
            }
            for (int j = 0; j < cols; j++) var += (x[o + j] - mean) * (x[o + j] - mean);
            double inv = 1 / Math.sqrt(var / cols + eps);
            for (int j = 0; j < cols; j++)
                r[o + j] = (x[o + j] - mean) * inv * (w == null ? 1 : w[j]) + (b == null ? 0 : b[j]);
        }
        return r;
    }

    /** NCHW convolution, no groups: x [n, c, h, w], w [o, c, kh, kw], then act and + residual. */
    public static double[] conv2d(double[] x, double[] wt, double[] b, int n, int c, int h, int w, int o, int kh, int kw,
                           int stride, int pad, DoubleUnaryOperator act, double[] residual) {
        int ho = (h + 2 * pad - kh) / stride + 1, wo = (w + 2 * pad - kw) / stride + 1;
        double[] r = new double[n * o * ho * wo];
        for (int i = 0; i < n; i++)
            for (int f = 0; f < o; f++)
                for (int y = 0; y < ho; y++)
                    for (int z = 0; z < wo; z++) {
                        double s = b == null ? 0 : b[f];
                        for (int ch = 0; ch < c; ch++)
                            for (int p = 0; p < kh; p++)
                                for (int q = 0; q < kw; q++) {
                                    int yy = y * stride - pad + p, zz = z * stride - pad + q;
                                    if (yy < 0 || yy >= h || zz < 0 || zz >= w) continue;
                                    s += x[((i * c + ch) * h + yy) * w + zz] * wt[((f * c + ch) * kh + p) * kw + q];
                                }
                        int at = ((i * o + f) * ho + y) * wo + z;
                        if (act != null) s = act.applyAsDouble(s);
                        r[at] = s + (residual == null ? 0 : residual[at]);
                    }
        return r;
    }

    /** NCHW transposed convolution: x [n, c, h, w], w [c, o, kh, kw]: each input pixel scatters its taps. */
    public static double[] convTranspose2d(double[] x, double[] wt, double[] b, int n, int c, int h, int w, int o, int kh, int kw,
                                    int stride, int pad) {
        int ho = (h - 1) * stride - 2 * pad + kh, wo = (w - 1) * stride - 2 * pad + kw;
        double[] r = new double[n * o * ho * wo];
        for (int i = 0; i < n; i++)
            for (int f = 0; f < o; f++)
                for (int y = 0; y < ho * wo; y++) r[(i * o + f) * ho * wo + y] = b == null ? 0 : b[f];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    for (int z = 0; z < w; z++)
                        for (int f = 0; f < o; f++)
                            for (int p = 0; p < kh; p++)
                                for (int q = 0; q < kw; q++) {
                                    int yy = y * stride - pad + p, zz = z * stride - pad + q;
                                    if (yy < 0 || yy >= ho || zz < 0 || zz >= wo) continue;
                                    r[((i * o + f) * ho + yy) * wo + zz] += x[((i * c + ch) * h + y) * w + z]
                                            * wt[((ch * o + f) * kh + p) * kw + q];
                                }
        return r;
    }

    /** softmax(q k^T / sqrt(d)) v over [bh, l, d] heads, top-left causal when asked. */
    public static double[] attention(double[] q, double[] k, double[] v, int bh, int l, int d, boolean causal) {
        double[] r = new double[bh * l * d];
        for (int h = 0; h < bh; h++)
            for (int i = 0; i < l; i++) {
                int keys = causal ? i + 1 : l;
                double[] s = new double[keys];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < keys; j++) {
                    for (int e = 0; e < d; e++) s[j] += q[(h * l + i) * d + e] * k[(h * l + j) * d + e] / Math.sqrt(d);
                    max = Math.max(max, s[j]);
                }
                for (int j = 0; j < keys; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int j = 0; j < keys; j++)
                    for (int e = 0; e < d; e++) r[(h * l + i) * d + e] += s[j] / sum * v[(h * l + j) * d + e];
            }
        return r;
    }

    /** The half-split rotary embedding of [bh, l, d] rows at positions 0..l-1. */
    public static double[] rope(double[] x, int bh, int l, int d, double base) {
        double[] r = x.clone();
        int half = d / 2;
        for (int h = 0; h < bh; h++)
            for (int t = 0; t < l; t++)
                for (int i = 0; i < half; i++) {
                    double theta = t * Math.pow(base, -2.0 * i / d), c = Math.cos(theta), s = Math.sin(theta);
                    int a = (h * l + t) * d + i, b = a + half;
                    r[a] = x[a] * c - x[b] * s;
                    r[b] = x[a] * s + x[b] * c;
                }
        return r;
    }

    /** Max (or average, padding counted) pooling of NCHW planes: k x k windows, stride s, padding p. */
    public static double[] pool(double[] x, int planes, int h, int w, int k, int s, int p, boolean max) {
        int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
        double[] r = new double[planes * ho * wo];
        for (int c = 0; c < planes; c++)
            for (int y = 0; y < ho; y++)
                for (int z = 0; z < wo; z++) {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    for (int a = 0; a < k; a++)
                        for (int b = 0; b < k; b++) {
                            int yy = y * s - p + a, zz = z * s - p + b;
                            if (yy < 0 || yy >= h || zz < 0 || zz >= w) continue;
                            double v = x[(c * h + yy) * w + zz];
                            acc = max ? Math.max(acc, v) : acc + v;
                        }
                    r[(c * ho + y) * wo + z] = max ? acc : acc / (k * k);
                }
        return r;
    }

    /** Bilinear resize of NCHW planes, align_corners false (torch's source index, clamped at 0). */
    public static double[] bilinear(double[] x, int planes, int h, int w, int ho, int wo) {
        double[] r = new double[planes * ho * wo];
        for (int c = 0; c < planes; c++)
            for (int y = 0; y < ho; y++)
                for (int z = 0; z < wo; z++) {
                    double sy = Math.max(0, (y + 0.5) * h / ho - 0.5), sz = Math.max(0, (z + 0.5) * w / wo - 0.5);
                    int y0 = (int) sy, z0 = (int) sz, y1 = Math.min(y0 + 1, h - 1), z1 = Math.min(z0 + 1, w - 1);
                    double fy = sy - y0, fz = sz - z0;
                    double v00 = x[(c * h + y0) * w + z0], v01 = x[(c * h + y0) * w + z1];
                    double v10 = x[(c * h + y1) * w + z0], v11 = x[(c * h + y1) * w + z1];
                    r[(c * ho + y) * wo + z] = (1 - fy) * ((1 - fz) * v00 + fz * v01) + fy * ((1 - fz) * v10 + fz * v11);
                }
        return r;
    }

    public static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    public static double silu(double x) {
        return x * sigmoid(x);
    }
}
