package org.deepkern.testing;

/**
 * TF32 rounding for references, from its definition rather than from bit tricks: the value to
 * 11 significant bits (10 stored), nearest, ties away from zero, with the exponent range of f32
 * (cvt.rna.tf32.f32). Finite inputs only.
 */
public final class Tf32 {
    private Tf32() {}

    public static double round(double x) {
        if (x == 0 || !Double.isFinite(x)) return x;
        int e = Math.max(Math.getExponent((float) x), -126);  // subnormals share the smallest binade's step
        double step = Math.scalb(1.0, e - 10);
        return Math.copySign(Math.floor(Math.abs(x) / step + 0.5) * step, x);
    }

    public static double[] round(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = round(v[i]);
        return out;
    }

    public static float[] round(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) round(v[i]);
        return out;
    }
}
