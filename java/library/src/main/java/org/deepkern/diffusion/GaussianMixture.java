package org.deepkern.diffusion;

import java.util.SplittableRandom;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.StepCoefs;

/**
 * An exact target for samplers: x0 ~ sum_k w_k N(mu_k, s^2 I). Noised as x = a x0 + b eps it is
 * again a mixture, sum_k w_k N(a mu_k, (a^2 s^2 + b^2) I), so the optimal denoiser E[x0 | x] is
 * closed form ({@link F#gmmPosteriorMean}), and with it the optimal eps, v, score (-eps/b) and
 * flow velocity: each is linear in x and x0 ({@link Prediction#fromX0}).
 */
public final class GaussianMixture {
    private final double[][] means;
    private final double[] weights;
    private final double std;

    /**
     * @param means the K component means, each of the same length D (the array is kept, not copied)
     * @param weights K non-negative weights, normalized here to sum to 1
     * @param std s, every component's standard deviation per dim, &gt; 0
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if there are no
     *         means, the weights are not one per mean, or std is not &gt; 0
     */
    public GaussianMixture(double[][] means, double[] weights, double std) {
        if (means.length == 0 || weights.length != means.length)
            throw DeepKernException.invalidArgument("new GaussianMixture", "weights", "expected one weight per mean (" + means.length + "), got " + weights.length);
        if (!(std > 0)) throw DeepKernException.invalidArgument("new GaussianMixture", "std", "expected > 0, got " + std);
        double total = 0;
        for (double w : weights) total += w;
        this.means = means;
        this.weights = new double[weights.length];
        for (int k = 0; k < weights.length; k++) this.weights[k] = weights[k] / total;
        this.std = std;
    }

    /**
     * 8 equal Gaussians on a circle of radius 2 in 2-D, std 0.15.
     *
     * @return the mixture, D = 2, K = 8
     */
    public static GaussianMixture ring8() {
        double[][] mu = new double[8][];
        double[] w = new double[8];
        for (int k = 0; k < 8; k++) {
            mu[k] = new double[] {2 * Math.cos(2 * Math.PI * k / 8), 2 * Math.sin(2 * Math.PI * k / 8)};
            w[k] = 1;
        }
        return new GaussianMixture(mu, w, 0.15);
    }

    /**
     * 12 Gaussians in 16-D with unequal weights (k + 1), means N(0, 1.5^2 I) from a fixed seed, std 0.3.
     *
     * @return the mixture, D = 16, K = 12; the same on every run
     */
    public static GaussianMixture gmm16() {
        SplittableRandom r = new SplittableRandom(16);
        double[][] mu = new double[12][16];
        double[] w = new double[12];
        for (int k = 0; k < 12; k++) {
            for (int j = 0; j < 16; j++) mu[k][j] = 1.5 * r.nextGaussian();
            w[k] = k + 1;
        }
        return new GaussianMixture(mu, w, 0.3);
    }

    /**
     * @param name ring8 or gmm16
     * @return {@link #ring8()} or {@link #gmm16()}
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} for any other name
     */
    public static GaussianMixture named(String name) {
        return switch (name) {
            case "ring8" -> ring8();
            case "gmm16" -> gmm16();
            default -> throw DeepKernException.invalidArgument("GaussianMixture.named", "target", "expected ring8 or gmm16, got " + name);
        };
    }

    /** @return D, the dimension of a data point */
    public int dims() {
        return means[0].length;
    }

    /** @return K, the number of components */
    public int components() {
        return means.length;
    }

    /** @return s, every component's standard deviation per dim */
    public double std() {
        return std;
    }

    /**
     * @param k a component, 0 &lt;= k &lt; K
     * @return a copy of its mean mu_k, D values
     */
    public double[] mean(int k) {
        return means[k].clone();
    }

    /**
     * @param k a component, 0 &lt;= k &lt; K
     * @return its weight w_k, normalized (the weights sum to 1)
     */
    public double weight(int k) {
        return weights[k];
    }

    /**
     * n true points [n * dims] on the host: components drawn on the host (seeded), offsets from
     * Tensor.randn(seed) on cpu. For evaluation only.
     *
     * @param n the number of points, &gt;= 0
     * @param seed the seed of both draws; the same seed gives the same points
     * @return the points, row-major: point i is elements [i * dims, (i + 1) * dims)
     */
    public float[] sample(int n, long seed) {
        float[] z;
        try (Tensor t = Tensor.randn(new long[] {n, dims()}, DType.F32, Device.CPU, new Generator(seed))) {
            z = t.toFloatArray();
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            double u = r.nextDouble();
            int k = 0;
            while (k < weights.length - 1 && (u -= weights[k]) >= 0) k++;
            for (int j = 0; j < dims(); j++) z[i * dims() + j] = (float) (means[k][j] + std * z[i * dims() + j]);
        }
        return z;
    }

    /**
     * The exact denoiser on device, predicting the given type; close it to free its tables.
     *
     * @param device where its tables live and it runs
     * @param prediction what it returns: x0, eps, v or the flow velocity
     * @return the denoiser, the caller's to close
     */
    public Exact denoiser(Device device, Prediction prediction) {
        return new Exact(device, prediction);
    }

    /**
     * E[x0 | x] by {@link F#gmmPosteriorMean}, converted to the prediction type by one step pass.
     * Its inputs are f32 [N, D] on its device.
     */
    public final class Exact implements Denoiser, AutoCloseable {
        private final Tensor meanTable, logWeights;
        private final Prediction prediction;

        private Exact(Device device, Prediction prediction) {
            float[] mu = new float[components() * dims()], lw = new float[components()];
            for (int k = 0; k < components(); k++) {
                lw[k] = (float) Math.log(weights[k]);
                for (int j = 0; j < dims(); j++) mu[k * dims() + j] = (float) means[k][j];
            }
            this.prediction = prediction;
            meanTable = Tensor.of(mu, new long[] {components(), dims()}, device);
            logWeights = Tensor.of(lw, new long[] {components()}, device);
        }

        @Override
        public Tensor predict(Tensor x, NoiseLevel level) {
            Tensor x0 = F.gmmPosteriorMean(x, meanTable, logWeights, std, level.a(), level.b());
            if (prediction == Prediction.SAMPLE) return x0;
            try (x0) {
                Prediction.Linear p = prediction.fromX0(level.a(), level.b());
                Tensor out = Tensor.empty(x.shape(), x.dtype(), x.device());
                try {
                    return F.diffusionStep(new StepCoefs().x0(0, 1, 0).out(p.x(), p.other(), 0), x, x0, null, null, null, out, null);
                } catch (RuntimeException e) {
                    out.close();
                    throw e;
                }
            }
        }

        /** Frees the means and log-weights tables on the device. */
        @Override
        public void close() {
            meanTable.close();
            logWeights.close();
        }
    }
}
