package org.deepkern.testing;

/** Image batches as flat arrays: NCHW values to NHWC and back. */
public final class Images {
    private Images() {}

    public static float[] toNhwc(float[] v, int n, int c, int h, int w) {
        float[] out = new float[v.length];
        for (int a = 0; a < n; a++)
            for (int b = 0; b < c; b++)
                for (int y = 0; y < h * w; y++) out[(a * h * w + y) * c + b] = v[(a * c + b) * h * w + y];
        return out;
    }

    public static float[] toNchw(float[] v, int n, int c, int h, int w) {
        float[] out = new float[v.length];
        for (int a = 0; a < n; a++)
            for (int b = 0; b < c; b++)
                for (int y = 0; y < h * w; y++) out[(a * c + b) * h * w + y] = v[(a * h * w + y) * c + b];
        return out;
    }
}
