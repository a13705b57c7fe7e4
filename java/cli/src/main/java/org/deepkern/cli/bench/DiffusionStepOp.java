package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.StepCoefs;

/**
 * One sampler step through F.diffusionStep, epsilon prediction, from alpha_bar_t = 0.5 to
 * alpha_bar_prev = 0.6 (the scalars any step of a real schedule has): DDIM with eta 0
 * (deterministic) and DDPM ancestral (fixed_small variance, noise drawn in the kernel). Reads x
 * and the model output, writes the next x: the noise is not a tensor, so it is not counted.
 * The check: DDIM against the formula in double; DDPM's mean likewise, and its residual
 * (out - mean) / sigma by its moments, which any correct N(0, 1) noise (PyTorch's too) matches.
 */
public record DiffusionStepOp(boolean noisy) implements BenchOp {
    static final double AB_T = 0.5, AB_PREV = 0.6;
    static final long SEED = 1234;

    @Override
    public String name() {
        return noisy ? "ddpm_step" : "ddim_step";
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        return List.of(shape, shape);
    }

    @Override
    public double flopsPerElement() {
        return noisy ? 45 : 10;  // the combination (~10); Philox (10 rounds) and Box-Muller per element
    }

    /** The diffusers formulas' scalars: x0 = (x - sqrt(1 - ab) eps) / sqrt(ab), then the update. */
    static double[] scalars() {
        double betaT = 1 - AB_T / AB_PREV, alphaT = AB_T / AB_PREV;
        double c0 = Math.sqrt(AB_PREV) * betaT / (1 - AB_T);        // DDPM posterior mean, x0 term
        double ct = Math.sqrt(alphaT) * (1 - AB_PREV) / (1 - AB_T);  // and x_t term
        double sigma = Math.sqrt((1 - AB_PREV) / (1 - AB_T) * betaT);
        return new double[] {c0, ct, sigma};
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        double[] s = scalars();
        StepCoefs c = new StepCoefs().x0(1 / Math.sqrt(AB_T), -Math.sqrt(1 - AB_T) / Math.sqrt(AB_T), 0).eps(0, 1, 0);
        if (noisy) c.out(s[1], s[0], 0).noise(s[2], SEED, 0);
        else c.out(0, Math.sqrt(AB_PREV), Math.sqrt(1 - AB_PREV));
        F.diffusionStep(c, in[0], in[1], null, null, null, out[0], null);
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        double[] s = scalars();
        float[] x = in[0], eps = in[1];
        double[] mean = Accuracy.reference(x.length, i -> {
            double x0 = (x[i] - Math.sqrt(1 - AB_T) * eps[i]) / Math.sqrt(AB_T);
            return noisy ? s[0] * x0 + s[1] * x[i] : Math.sqrt(AB_PREV) * x0 + Math.sqrt(1 - AB_PREV) * eps[i];
        });
        if (!noisy) return Accuracy.judge(mean, out[0], outputDtype);
        double sum = 0, sumSq = 0;
        for (int i = 0; i < mean.length; i++) {
            double z = (out[0][i] - mean[i]) / s[2];
            if (!Double.isFinite(z)) return "non-finite output at " + i;
            sum += z;
            sumSq += z * z;
        }
        int n = mean.length;
        double m = sum / n, var = sumSq / n - m * m;
        // six standard errors (a false alarm about once in a billion runs), plus the output's rounding
        double slack = 6 * Math.sqrt(2.0 / n) + 4 * Accuracy.tolerance(outputDtype);
        if (Math.abs(m) > 6 / Math.sqrt(n) + Accuracy.tolerance(outputDtype)) return String.format("noise mean %.3g, expected 0", m);
        if (Math.abs(var - 1) > slack) return String.format("noise variance %.4f, expected 1", var);
        return null;
    }
}
