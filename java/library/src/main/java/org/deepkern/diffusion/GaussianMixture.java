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

    /** 8 equal Gaussians on a circle of radius 2 in 2-D, std 0.15. */
    public static GaussianMixture ring8() {
        double[][] mu = new double[8][];
        double[] w = new double[8];
        for (int k = 0; k < 8; k++) {
            mu[k] = new double[] {2 * Math.cos(2 * Math.PI * k / 8), 2 * Math.sin(2 * Math.PI * k / 8)};
            w[k] = 1;
        }
        return new GaussianMixture(mu, w, 0.15);
    }

    /** 12 Gaussians in 16-D with unequal weights (k + 1), means N(0, 1.5^2 I) from a fixed seed, std 0.3. */
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

    public static GaussianMixture named(String name) {
        return switch (name) {
            case "ring8" -> ring8();
            case "gmm16" -> gmm16();
            default -> throw DeepKernException.invalidArgument("GaussianMixture.named", "target", "expected ring8 or gmm16, got " + name);
        };
    }

    public int dims() {
        return means[0].length;
    }

    public int components() {
        return means.length;
    }

    public double std() {
        return std;
    }

    public double[] mean(int k) {
        return means[k].clone();
    }

    public double weight(int k) {
        return weights[k];
    }

    /**
     * n true points [n * dims] on the host: components drawn on the host (seeded), offsets from
     * Tensor.randn(seed) on cpu. For evaluation only.
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

    /** The exact denoiser on device, predicting the given type; close it to free its tables. */
    public Exact denoiser(Device device, Prediction prediction) {
        return new Exact(device, prediction);
    }

    /** E[x0 | x] by {@link F#gmmPosteriorMean}, converted to the prediction type by one step pass. */
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

        @Override
        public void close() {
            meanTable.close();
            logWeights.close();
        }
    }
}
