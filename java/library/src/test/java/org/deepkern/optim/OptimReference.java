package org.deepkern.optim;

/**
 * The optimizers written plainly in double precision, independent of the kernels: torch.optim's
 * AdamW and SGD and clip_grad_norm_'s formulas, one parameter's flat arrays at a time.
 */
final class OptimReference {
    private OptimReference() {}

    /** One AdamW step of one parameter at step t (1 on its first): p, m, v updated in place. */
    static void adamw(double[] p, double[] g, double[] m, double[] v, long t, double lr, double b1, double b2, double eps,
                      double wd) {
        double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
        for (int i = 0; i < p.length; i++) {
            p[i] *= 1 - lr * wd;
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mHat = m[i] / bc1, vHat = v[i] / bc2;
            p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
        }
    }

    /** One SGD step; buf may be null (no momentum); first: the parameter's first step. */
    static void sgd(double[] p, double[] g, double[] buf, boolean first, double lr, double momentum, double dampening,
                    double wd, boolean nesterov) {
        for (int i = 0; i < p.length; i++) {
            double d = g[i] + wd * p[i];
            if (momentum != 0) {
                buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    /** The L2 norm of all gradients together. */
    static double norm(double[][] grads) {
        double s = 0;
        for (double[] g : grads)
            for (double x : g) s += x * x;
        return Math.sqrt(s);
    }

    /** clip_grad_norm_'s scale for a total norm. */
    static double clipScale(double maxNorm, double norm) {
        return Math.min(maxNorm / (norm + 1e-6), 1.0);
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
