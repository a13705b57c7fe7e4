package org.deepkern.nn;

/**
 * The transformer block of {@link TransformerBlock} in double precision, written from the
 * formulas (not from the ops): rows are tokens, a tensor [B, L, E] is double[B][L][E].
 */
final class BlockReference {
    private BlockReference() {}

    /** x W^T + b over the last dim; W [out][in], b [out] or null. */
    static double[][][] linear(double[][][] x, double[][] w, double[] b) {
        int bs = x.length, l = x[0].length, out = w.length;
        double[][][] y = new double[bs][l][out];
        for (int i = 0; i < bs; i++)
            for (int t = 0; t < l; t++)
                for (int o = 0; o < out; o++) {
                    double s = b == null ? 0 : b[o];
                    for (int k = 0; k < w[o].length; k++) s += x[i][t][k] * w[o][k];
                    y[i][t][o] = s;
                }
        return y;
    }

    static double[][][] add(double[][][] a, double[][][] b) {
        double[][][] y = new double[a.length][a[0].length][a[0][0].length];
        for (int i = 0; i < a.length; i++)
            for (int t = 0; t < a[0].length; t++)
                for (int e = 0; e < a[0][0].length; e++) y[i][t][e] = a[i][t][e] + b[i][t][e];
        return y;
    }

    /** layer norm (rms = false: weight and bias, population variance) or RMS norm (rms = true). */
    static double[][][] norm(double[][][] x, double[] w, double[] b, double eps, boolean rms) {
        double[][][] y = new double[x.length][x[0].length][];
        for (int i = 0; i < x.length; i++)
            for (int t = 0; t < x[0].length; t++) {
                double[] r = x[i][t];
                int n = r.length;
                double mean = 0, sq = 0;
                for (double v : r) mean += v / n;
                if (rms) mean = 0;
                for (double v : r) sq += (v - mean) * (v - mean) / n;
                double inv = 1 / Math.sqrt(sq + eps);
                y[i][t] = new double[n];
                for (int e = 0; e < n; e++) y[i][t][e] = (r[e] - mean) * inv * (w == null ? 1 : w[e]) + (b == null ? 0 : b[e]);
            }
        return y;
    }

    /** Turns pairs of each head vector v[D] at position pos by pos * base^(-2i/D). */
    static void rope(double[] v, int pos, boolean interleaved, double base) {
        int d = v.length, half = d / 2;
        for (int i = 0; i < half; i++) {
            double th = pos * Math.pow(base, -2.0 * i / d), c = Math.cos(th), s = Math.sin(th);
            int a = interleaved ? 2 * i : i, bb = interleaved ? 2 * i + 1 : i + half;
            double x0 = v[a], x1 = v[bb];
            v[a] = x0 * c - x1 * s;
            v[bb] = x0 * s + x1 * c;
        }
    }

    /** The attention module: fused qkv projection, optional rope, grouped heads, top-left causal, out projection. */
    static double[][][] attention(double[][][] x, int heads, int kvHeads, double[][] wqkv, double[] bqkv, double[][] wo,
                                  double[] bo, Boolean interleavedRope, double ropeBase, boolean causal) {
        int bs = x.length, l = x[0].length, d = wqkv.length / (heads + 2 * kvHeads);
        double[][][] qkv = linear(x, wqkv, bqkv);
        double[][][] merged = new double[bs][l][heads * d];
        for (int i = 0; i < bs; i++)
            for (int h = 0; h < heads; h++) {
                int kh = h / (heads / kvHeads);
                double[][] q = new double[l][], k = new double[l][], v = new double[l][];
                for (int t = 0; t < l; t++) {
                    q[t] = java.util.Arrays.copyOfRange(qkv[i][t], h * d, h * d + d);
                    k[t] = java.util.Arrays.copyOfRange(qkv[i][t], (heads + kh) * d, (heads + kh) * d + d);
                    v[t] = java.util.Arrays.copyOfRange(qkv[i][t], (heads + kvHeads + kh) * d, (heads + kvHeads + kh) * d + d);
                    if (interleavedRope != null) {
                        rope(q[t], t, interleavedRope, ropeBase);
                        rope(k[t], t, interleavedRope, ropeBase);
                    }
                }
                for (int t = 0; t < l; t++) {
                    int keys = causal ? t + 1 : l;
                    double[] s = new double[keys];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < keys; j++) {
                        for (int e = 0; e < d; e++) s[j] += q[t][e] * k[j][e] / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < keys; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j < keys; j++)
                        for (int e = 0; e < d; e++) merged[i][t][h * d + e] += s[j] / sum * v[j][e];
                }
            }
        return linear(merged, wo, bo);
    }

    static double[][][] swigluMlp(double[][][] x, double[][] wg, double[][] wu, double[][] wd) {
        double[][][] g = linear(x, wg, null), u = linear(x, wu, null);
        for (int i = 0; i < g.length; i++)
            for (int t = 0; t < g[0].length; t++)
                for (int e = 0; e < g[0][0].length; e++) g[i][t][e] = g[i][t][e] / (1 + Math.exp(-g[i][t][e])) * u[i][t][e];
        return linear(g, wd, null);
    }
}
