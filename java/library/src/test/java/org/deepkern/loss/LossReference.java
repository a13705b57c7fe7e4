package org.deepkern.loss;

import org.deepkern.ops.Reduction;

/**
 * The losses written plainly in double precision from their definitions (torch.nn.functional's,
 * CenterNet's _neg_loss), independent of the code under test: per-element losses and their
 * analytic gradients, reduced as torch reduces them.
 */
final class LossReference {
    private LossReference() {}

    enum Kind { MSE, L1, SMOOTH_L1, BCE }

    static double elementLoss(Kind k, double x, double t, double beta, double pw) {
        double d = x - t;
        return switch (k) {
            case MSE -> d * d;
            case L1 -> Math.abs(d);
            case SMOOTH_L1 -> beta > 0 && Math.abs(d) < beta ? 0.5 * d * d / beta : Math.abs(d) - 0.5 * beta;
            // -(pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))
            case BCE -> -(pw * t * logSigmoid(x) + (1 - t) * logSigmoid(-x));
        };
    }

    static double elementGrad(Kind k, double x, double t, double beta, double pw) {
        double d = x - t;
        return switch (k) {
            case MSE -> 2 * d;
            case L1 -> Math.signum(d);
            case SMOOTH_L1 -> beta > 0 && Math.abs(d) < beta ? d / beta : Math.signum(d);
            case BCE -> -(pw * t * sigmoid(-x) - (1 - t) * sigmoid(x));
        };
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** log(sigmoid(x)) = -log(1 + exp(-x)), without overflow. */
    static double logSigmoid(double x) {
        return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
    }

    /** The reduced loss (or the per-element losses for NONE) of per-item losses over count counted items. */
    static double[] reduce(double[] losses, Reduction r, long count) {
        if (r == Reduction.NONE) return losses;
        double s = 0;
        for (double v : losses) s += v;
        return new double[] {r == Reduction.SUM ? s : s / count};
    }

    /** Element-wise loss; pw null or [last extent] / [1]. */
    static double[] elementwise(Kind k, float[] x, float[] t, float[] pw, double beta, Reduction r) {
        double[] l = new double[x.length];
        for (int i = 0; i < x.length; i++) l[i] = elementLoss(k, x[i], t[i], beta, pw == null ? 1 : pw[i % pw.length]);
        return reduce(l, r, x.length);
    }

    /** Its gradient for gradOut (x.length values for NONE, one otherwise). */
    static double[] elementwiseGrad(Kind k, float[] x, float[] t, float[] pw, double beta, Reduction r, float[] g) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double gi = r == Reduction.NONE ? g[i] : r == Reduction.SUM ? g[0] : g[0] / (double) x.length;
            out[i] = gi * elementGrad(k, x[i], t[i], beta, pw == null ? 1 : pw[i % pw.length]);
        }
        return out;
    }

    /** Cross-entropy of logits [n, classes, inner] against targets [n * inner]. */
    static double[] crossEntropy(float[] x, long[] y, int classes, int inner, long ignore, double s, Reduction r) {
        int rows = y.length;
        double[] l = new double[rows];
        long count = 0;
        for (int row = 0; row < rows; row++) {
            if (y[row] == ignore) continue;
            count++;
            double[] logp = logSoftmax(x, row, classes, inner);
            double mean = 0;
            for (double v : logp) mean += -v;
            l[row] = (1 - s) * -logp[(int) y[row]] + s * mean / classes;
        }
        return reduce(l, r, count);
    }

    static double[] crossEntropyGrad(float[] x, long[] y, int classes, int inner, long ignore, double s, Reduction r,
                                     float[] g) {
        int rows = y.length;
        long count = 0;
        for (long v : y) if (v != ignore) count++;
        double[] out = new double[x.length];
        for (int row = 0; row < rows; row++) {
            if (y[row] == ignore) continue;
            double gr = r == Reduction.NONE ? g[row] : r == Reduction.SUM ? g[0] : g[0] / (double) count;
            double[] logp = logSoftmax(x, row, classes, inner);
            for (int c = 0; c < classes; c++) {
                double target = (c == y[row] ? 1 - s : 0) + s / classes;
                out[at(row, c, classes, inner)] = gr * (Math.exp(logp[c]) - target);
            }
        }
        return out;
    }

    static int at(int row, int c, int classes, int inner) {
        return (row / inner) * classes * inner + c * inner + row % inner;
    }

    static double[] logSoftmax(float[] x, int row, int classes, int inner) {
        double m = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) m = Math.max(m, x[at(row, c, classes, inner)]);
        double se = 0;
        for (int c = 0; c < classes; c++) se += Math.exp(x[at(row, c, classes, inner)] - m);
        double lse = m + Math.log(se);
        double[] out = new double[classes];
        for (int c = 0; c < classes; c++) out[c] = x[at(row, c, classes, inner)] - lse;
        return out;
    }

    /** CenterNet's focal loss, p = sigmoid(x), with exact logs of p and 1 - p. */
    static double focal(float[] x, float[] gt, double alpha, double beta) {
        double s = 0;
        long pos = 0;
        for (int i = 0; i < x.length; i++) {
            double p = sigmoid(x[i]);
            if (gt[i] == 1) {
                pos++;
                s += -Math.pow(1 - p, alpha) * logSigmoid(x[i]);
            } else if (gt[i] < 1) {
                s += -Math.pow(1 - gt[i], beta) * Math.pow(p, alpha) * logSigmoid(-x[i]);
            }
        }
        return s / Math.max(1, pos);
    }

    static double[] focalGrad(float[] x, float[] gt, double alpha, double beta, double g) {
        long pos = 0;
        for (float v : gt) if (v == 1) pos++;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double p = sigmoid(x[i]), q = sigmoid(-x[i]);
            double d = 0;
            if (gt[i] == 1) d = Math.pow(q, alpha) * (alpha * p * logSigmoid(x[i]) - q);
            else if (gt[i] < 1) d = Math.pow(1 - gt[i], beta) * Math.pow(p, alpha) * (p - alpha * q * logSigmoid(-x[i]));
            out[i] = g * d / Math.max(1, pos);
        }
        return out;
    }
}
