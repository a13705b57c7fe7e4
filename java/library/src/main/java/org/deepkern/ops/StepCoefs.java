package org.deepkern.ops;

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
    private float guidance = 1, x0X, x0M, clip, epsX, epsM, epsX0, outX, outX0, outEps, outE1, outE2, noise, o2X, o2X0,
            o2Eps;
    private long seed, offset;

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

    /** @return the guidance scale */
    public float guidance() {
        return guidance;
    }

    /** @return x0's factor of x */
    public float x0X() {
        return x0X;
    }

    /** @return x0's factor of the model output */
    public float x0M() {
        return x0M;
    }

    /** @return the clamp of x0 (0 for none) */
    public float clip() {
        return clip;
    }

    /** @return eps's factor of x */
    public float epsX() {
        return epsX;
    }

    /** @return eps's factor of the model output */
    public float epsM() {
        return epsM;
    }

    /** @return eps's factor of x0 */
    public float epsX0() {
        return epsX0;
    }

    /** @return out's factor of x */
    public float outX() {
        return outX;
    }

    /** @return out's factor of x0 */
    public float outX0() {
        return outX0;
    }

    /** @return out's factor of eps */
    public float outEps() {
        return outEps;
    }

    /** @return out's factor of extra1 */
    public float outE1() {
        return outE1;
    }

    /** @return out's factor of extra2 */
    public float outE2() {
        return outE2;
    }

    /** @return the noise scale sigma */
    public float noise() {
        return noise;
    }

    /** @return out2's factor of x */
    public float o2X() {
        return o2X;
    }

    /** @return out2's factor of x0 */
    public float o2X0() {
        return o2X0;
    }

    /** @return out2's factor of eps */
    public float o2Eps() {
        return o2Eps;
    }

    /** @return the Philox key of the noise */
    public long seed() {
        return seed;
    }

    /** @return the Philox counter offset of the noise */
    public long offset() {
        return offset;
    }
}
