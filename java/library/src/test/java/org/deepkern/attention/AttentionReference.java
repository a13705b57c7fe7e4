package org.deepkern.attention;

import org.deepkern.ops.CausalMask;
import java.util.Arrays;

/**
 * Scaled dot-product attention in plain Java doubles, materializing each row's scores: the
 * definition in deepkern.h written out directly (no tiles, no online softmax), for the Attention*
 * tests. Arrays are row-major: q [B, Hq, Lq, D], k and v [B, Hkv, Lk, D], bias as given by
 * biasShape (rank <= 4, right-aligned against [B, Hq, Lq, Lk], size-1 dims broadcast).
 */
final class AttentionReference {
    private AttentionReference() {}

    /** A problem's geometry and options; keyLengths and bias may be null. */
    record Problem(int b, int hq, int hkv, int lq, int lk, int d, double scale, CausalMask causal, long[] keyLengths,
                   float[] bias, long[] biasShape) {
        @Override
        public String toString() {
            return "B=" + b + " Hq=" + hq + " Hkv=" + hkv + " Lq=" + lq + " Lk=" + lk + " D=" + d + " " + causal
                    + (Double.isNaN(scale) ? "" : " scale=" + scale) + (keyLengths == null ? "" : " keyLengths=" + Arrays.toString(keyLengths))
                    + (bias == null ? "" : " bias" + Arrays.toString(biasShape));
        }

        double effectiveScale() {
            return Double.isNaN(scale) || scale == 0 ? 1 / Math.sqrt(d) : scale;
        }

        long keyLength(int batch) {
            return keyLengths == null ? lk : Math.max(0, Math.min(lk, keyLengths[batch]));
        }

        /** Whether query row i of batch bb may see key j. */
        boolean allowed(int bb, int i, int j) {
            long kl = keyLength(bb);
            if (j >= kl) return false;
            return switch (causal) {
                case NONE -> true;
                case TOP_LEFT -> j <= i;
                case BOTTOM_RIGHT -> j <= i + kl - lq;
            };
        }

        double bias(int bb, int h, int i, int j) {
            if (bias == null) return 0;
            long[] full = {b, hq, lq, lk};
            int[] idx = {bb, h, i, j};
            int skip = 4 - biasShape.length;
            long at = 0;
            for (int dim = skip; dim < 4; dim++) {
                long n = biasShape[dim - skip];
                at = at * n + (n == 1 ? 0 : idx[dim]);
                if (n != 1 && n != full[dim]) throw new IllegalArgumentException("bias not broadcastable");
            }
            return bias[(int) at];
        }

        int qIndex(int bb, int h, int i) {
            return ((bb * hq + h) * lq + i) * d;
        }

        int kIndex(int bb, int h, int j) {
            return ((bb * hkv + h / (hq / hkv)) * lk + j) * d;
        }
    }

    record Forward(double[] out, double[] lse) {}

    record Grads(double[] q, double[] k, double[] v) {}

    /** Each row's probabilities over the keys (0 where masked); lse[row] = -inf when none is allowed. */
    private static double[] probabilities(Problem p, float[] q, float[] k, int bb, int h, int i, double[] lseOut) {
        double[] s = new double[p.lk()];
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < p.lk(); j++) {
            if (!p.allowed(bb, i, j)) {
                s[j] = Double.NEGATIVE_INFINITY;
                continue;
            }
            double dot = 0;
            int qi = p.qIndex(bb, h, i), kj = p.kIndex(bb, h, j);
            for (int x = 0; x < p.d(); x++) dot += (double) q[qi + x] * k[kj + x];
            s[j] = p.effectiveScale() * dot + p.bias(bb, h, i, j);
            m = Math.max(m, s[j]);
        }
        double[] prob = new double[p.lk()];
        if (m == Double.NEGATIVE_INFINITY) {
            lseOut[0] = Double.NEGATIVE_INFINITY;
            return prob;
        }
        double sum = 0;
        for (int j = 0; j < p.lk(); j++) sum += prob[j] = s[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - m);
        for (int j = 0; j < p.lk(); j++) prob[j] /= sum;
        lseOut[0] = m + Math.log(sum);
        return prob;
    }

    static Forward forward(Problem p, float[] q, float[] k, float[] v) {
        double[] out = new double[p.b() * p.hq() * p.lq() * p.d()];
        double[] lse = new double[p.b() * p.hq() * p.lq()];
        double[] l = new double[1];
        for (int bb = 0; bb < p.b(); bb++)
            for (int h = 0; h < p.hq(); h++)
                for (int i = 0; i < p.lq(); i++) {
                    double[] prob = probabilities(p, q, k, bb, h, i, l);
                    lse[(bb * p.hq() + h) * p.lq() + i] = l[0];
                    int oi = p.qIndex(bb, h, i);
                    for (int j = 0; j < p.lk(); j++) {
                        if (prob[j] == 0) continue;
                        int vj = p.kIndex(bb, h, j);
                        for (int x = 0; x < p.d(); x++) out[oi + x] += prob[j] * v[vj + x];
                    }
                }
        return new Forward(out, lse);
    }

    /** The gradients of sum(gradOut * out). */
    static Grads backward(Problem p, float[] q, float[] k, float[] v, float[] gradOut) {
        double[] dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
        double[] l = new double[1];
        double scale = p.effectiveScale();
        for (int bb = 0; bb < p.b(); bb++)
            for (int h = 0; h < p.hq(); h++)
                for (int i = 0; i < p.lq(); i++) {
                    double[] prob = probabilities(p, q, k, bb, h, i, l);
                    int qi = p.qIndex(bb, h, i);
                    double[] dp = new double[p.lk()];
                    double delta = 0;
                    for (int j = 0; j < p.lk(); j++) {
                        int vj = p.kIndex(bb, h, j);
                        for (int x = 0; x < p.d(); x++) dp[j] += (double) gradOut[qi + x] * v[vj + x];
                        delta += prob[j] * dp[j];
                    }
                    for (int j = 0; j < p.lk(); j++) {
                        if (prob[j] == 0) continue;
                        int kj = p.kIndex(bb, h, j);
                        double ds = prob[j] * (dp[j] - delta) * scale;
                        for (int x = 0; x < p.d(); x++) {
                            dv[kj + x] += prob[j] * gradOut[qi + x];
                            dq[qi + x] += ds * k[kj + x];
                            dk[kj + x] += ds * q[qi + x];
                        }
                    }
                }
        return new Grads(dq, dk, dv);
    }

    static double maxAbs(double[] a) {
        return Arrays.stream(a).filter(Double::isFinite).map(Math::abs).max().orElse(0);
    }
}
