package org.deepkern.testing;

/**
 * Independent double-precision references, written from the textbook formulas for tests only;
 * nothing here is shared with or derived from the native code.
 */
public final class Reference {
    private Reference() {}

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;

    /**
     * erfc(z) with relative error below 1e-12 everywhere it is representable: for |z| < 2 the
     * Maclaurin series of erf (terms up to e^{z^2} ~ 55 in size cost at most 2 of double's 16
     * digits, and erfc(2) = 4.7e-3 costs 3 more); for z >= 2 the Laplace continued fraction,
     * evaluated by modified Lentz iteration.
     */
    public static double erfc(double z) {
        if (Double.isNaN(z)) return Double.NaN;
        if (z < 0) return 2.0 - erfc(-z);
        if (z < 2.0) return 1.0 - erfSeries(z);
        if (z > 27.3) return 0.0;  // below the smallest double
        // erfc z = exp(-z^2)/sqrt(pi) * 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...)))))
        double tiny = 1e-300;
        double f = z, c = z, d = 0;
        for (int n = 1; n < 5000; n++) {
            double a = n / 2.0;
            d = z + a * d;
            if (d == 0) d = tiny;
            c = z + a / c;
            if (c == 0) c = tiny;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) break;
        }
        return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
    }

    public static double erf(double z) {
        return Math.abs(z) < 2.0 ? erfSeries(z) : Math.signum(z) * (1.0 - erfc(Math.abs(z)));
    }

    private static double erfSeries(double z) {
        // erf z = 2/sqrt(pi) * sum_n (-1)^n z^(2n+1) / (n! (2n+1))
        double z2 = z * z, term = z, sum = z;
        for (int n = 1; n < 200; n++) {
            term *= -z2 / n;
            double t = term / (2 * n + 1);
            sum += t;
            if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
        }
        return TWO_OVER_SQRT_PI * sum;
    }

    /** Standard normal CDF. */
    public static double phi(double x) {
        return 0.5 * erfc(-x / Math.sqrt(2));
    }

    /** GELU, exact: x Phi(x). */
    public static double gelu(double x) {
        return x * phi(x);
    }

    /**
     * GELU, tanh form: 0.5 x (1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3). For u < 0,
     * 1 + tanh(u) = 2 e^{2u} / (1 + e^{2u}) keeps the relative accuracy the plain sum loses.
     */
    public static double geluTanh(double x) {
        double u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
        if (u >= 0) return 0.5 * x * (1 + Math.tanh(u));
        double e = Math.exp(2 * u);
        return x * e / (1 + e);
    }
}
