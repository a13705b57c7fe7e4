package org.deepkern.diffusion;

import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * F.gmmPosteriorMean against E[x0 | x] computed in double by Bayes' rule: responsibilities
 * r_k ~ w_k N(x; a mu_k, (a^2 s^2 + b^2) I) (log-sum-exp), per-component posterior means
 * mu_k + a s^2 / (a^2 s^2 + b^2) (x - a mu_k). f32 tolerance: rtol 1e-5 plus an atol from the
 * logits |x - a mu_k|^2 / (2v): f32 forms them to ~6e-8 of their size (up to ~20 in 2-D, ~150 in
 * 16-D), which moves each responsibility by that much relatively, times the spread of the means
 * (~4 in 2-D, ~6 in 16-D): atol 1e-5 in 2-D, 6e-5 in 16-D.
 */
class DiffusionGmmTest {
    static Stream<Device> devices() {
        return TestDevices.host();
    }

    @ParameterizedTest
    @MethodSource("devices")
    void posteriorMeanMatchesBayes(Device device) {
        for (GaussianMixture g : new GaussianMixture[] {GaussianMixture.ring8(), GaussianMixture.gmm16()}) {
            for (double[] ab : new double[][] {{1, 0.05}, {0.8, 0.6}, {0.1, 0.995}, {1, 3}}) {
                int n = 257, d = g.dims();
                Random r = new Random(n + d);
                float[] x = new float[n * d];
                for (int i = 0; i < x.length; i++) x[i] = (float) (2 * r.nextGaussian());
                double a = ab[0], b = ab[1], s = g.std(), v = a * a * s * s + b * b;
                double[] ref = new double[n * d];
                for (int i = 0; i < n; i++) {
                    double[] logit = new double[g.components()];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int k = 0; k < g.components(); k++) {
                        double d2 = 0;
                        for (int j = 0; j < d; j++) d2 += Math.pow(x[i * d + j] - a * g.mean(k)[j], 2);
                        logit[k] = Math.log(g.weight(k)) - d2 / (2 * v);
                        max = Math.max(max, logit[k]);
                    }
                    double z = 0;
                    for (int k = 0; k < g.components(); k++) z += Math.exp(logit[k] - max);
                    for (int k = 0; k < g.components(); k++) {
                        double rk = Math.exp(logit[k] - max) / z;
                        for (int j = 0; j < d; j++) {
                            double mu = g.mean(k)[j];
                            ref[i * d + j] += rk * (mu + a * s * s / v * (x[i * d + j] - a * mu));
                        }
                    }
                }
                try (Scope scope = Scope.open()) {
                    GaussianMixture.Exact model = g.denoiser(device, Prediction.SAMPLE);
                    Tensor out = model.predict(Tensor.of(x, new long[] {n, d}, device), new NoiseLevel(0, a, b));
                    Close.assertClose(ref, out.toFloatArray(), 1e-5, d == 2 ? 1e-5 : 6e-5, g.dims() + "-D a=" + a + " b=" + b + " on " + device);
                    model.close();
                }
            }
        }
    }
}
