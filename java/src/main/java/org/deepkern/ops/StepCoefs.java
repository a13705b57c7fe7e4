package org.deepkern.ops;

import org.deepkern.bindings.dk_step_coefs;

/**
 * The per-step scalars of {@link F#diffusionStep}: every sampler step is one fused pass of
 * <pre>
 *   m   = uncond != null ? uncond + guidance (model - uncond) : model
 *   x0  = x0X x + x0M m,  clamped to [-clip, clip] when clip > 0
 *   eps = epsX x + epsM m + epsX0 x0
 *   out = outX x + outX0 x0 + outEps eps + outE1 extra1 + outE2 extra2 + noise z
 *   out2 = o2X x + o2X0 x0 + o2Eps eps
 * </pre>
 * with z ~ N(0, 1) drawn in the kernel from Philox (seed, offset), element i from counter
 * offset + i/4, as {@link org.deepkern.Tensor#randn} draws it. Unset coefficients are 0.
 */
public final class StepCoefs {
    float guidance = 1, x0X, x0M, clip, epsX, epsM, epsX0, outX, outX0, outEps, outE1, outE2, noise, o2X, o2X0, o2Eps;
    long seed, offset;

    public StepCoefs guidance(double scale) {
        guidance = (float) scale;
        return this;
    }

    /** x0 = x * x + m * model, clamped to [-clip, clip] when clip > 0. */
    public StepCoefs x0(double x, double m, double clip) {
        x0X = (float) x;
        x0M = (float) m;
        this.clip = (float) clip;
        return this;
    }

    /** eps = x * x + m * model + x0 * x0. */
    public StepCoefs eps(double x, double m, double x0) {
        epsX = (float) x;
        epsM = (float) m;
        epsX0 = (float) x0;
        return this;
    }

    /** out = x * x + x0 * x0 + eps * eps + ... */
    public StepCoefs out(double x, double x0, double eps) {
        outX = (float) x;
        outX0 = (float) x0;
        outEps = (float) eps;
        return this;
    }

    /** ... + e1 * extra1 + e2 * extra2 ... */
    public StepCoefs extras(double e1, double e2) {
        outE1 = (float) e1;
        outE2 = (float) e2;
        return this;
    }

    /** ... + sigma * z, z from the Philox stream (seed, offset). */
    public StepCoefs noise(double sigma, long seed, long offset) {
        noise = (float) sigma;
        this.seed = seed;
        this.offset = offset;
        return this;
    }

    /** out2 = x * x + x0 * x0 + eps * eps (when an out2 tensor is given). */
    public StepCoefs out2(double x, double x0, double eps) {
        o2X = (float) x;
        o2X0 = (float) x0;
        o2Eps = (float) eps;
        return this;
    }

    dk_step_coefs toNative() {
        return new dk_step_coefs().guidance(guidance).x0_x(x0X).x0_m(x0M).clip(clip).eps_x(epsX).eps_m(epsM)
                .eps_x0(epsX0).out_x(outX).out_x0(outX0).out_eps(outEps).out_e1(outE1).out_e2(outE2).noise(noise)
                .o2_x(o2X).o2_x0(o2X0).o2_eps(o2Eps).seed(seed).offset(offset);
    }
}
