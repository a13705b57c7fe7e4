package org.deepkern.cli.sample;

import org.deepkern.diffusion.GaussianMixture;
import java.util.Arrays;
import java.util.Random;
import org.deepkern.DeepKernException;

/**
 * The sliced Wasserstein-2 distance between two point sets of equal size n in D dims:
 * SW2(A, B) = sqrt(mean over random unit directions u of W2^2(u.A, u.B)), each 1-D W2^2 the mean
 * squared difference of the sorted projections. Between two finite samples of the SAME
 * distribution it is not 0 but O(n^-1/2): that noise floor is what a sampler's score is read against.
 * Host code, for evaluation only.
 */
public final class SlicedWasserstein {
    private SlicedWasserstein() {}

    /** A sampler's score next to the noise floor of the same metric at the same n. */
    public record Score(double metric, double floor) {
        public double ratio() {
            return metric / floor;
        }
    }

    public static double distance(float[] a, float[] b, int dims, int projections, long seed) {
        if (a.length != b.length || a.length % dims != 0)
            throw DeepKernException.invalidArgument("SlicedWasserstein.distance", "b", "expected two sets of equal size n * " + dims + ", got " + a.length + " and " + b.length);
        int n = a.length / dims;
        Random r = new Random(seed);
        double total = 0;
        double[] u = new double[dims], pa = new double[n], pb = new double[n];
        for (int p = 0; p < projections; p++) {
            double norm = 0;
            for (int j = 0; j < dims; j++) norm += (u[j] = r.nextGaussian()) * u[j];
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                double sa = 0, sb = 0;
                for (int j = 0; j < dims; j++) {
                    sa += u[j] * a[i * dims + j];
                    sb += u[j] * b[i * dims + j];
                }
                pa[i] = sa / norm;
                pb[i] = sb / norm;
            }
            Arrays.sort(pa);
            Arrays.sort(pb);
            double w = 0;
            for (int i = 0; i < n; i++) w += (pa[i] - pb[i]) * (pa[i] - pb[i]);
            total += w / n;
        }
        return Math.sqrt(total / projections);
    }

    /** samples [n * dims] against fresh true points, and the floor: two more independent true sets. */
    public static Score score(GaussianMixture target, float[] samples, long seed) {
        int n = samples.length / target.dims(), projections = 128;
        float[] t1 = target.sample(n, seed ^ 0x5EED1L), t2 = target.sample(n, seed ^ 0x5EED2L), t3 = target.sample(n, seed ^ 0x5EED3L);
        return new Score(distance(samples, t1, target.dims(), projections, seed),
                distance(t2, t3, target.dims(), projections, seed));
    }
}
