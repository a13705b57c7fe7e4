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
 * offset + i/4, as {@link org.deepkern.Tensor#randn} draws it; with noise 0 none is drawn. Unset
 * coefficients are 0, except guidance, which is 1. Coefficients are stored as f32.
 *
 * <p>A mutable builder: each setter overwrites its fields and returns this object, for chaining.
 */
public final class StepCoefs {
    private float guidance = 1, x0X, x0M, clip, epsX, epsM, epsX0, outX, outX0, outEps, outE1, outE2, noise, o2X, o2X0,
            o2Eps;
    private long seed, offset;

    /**
     * Classifier-free guidance: m = uncond + scale (model - uncond) when an uncond tensor is given
     * (diffusers' {@code guidance_scale}); ignored without one.
     *
     * @param scale the guidance scale (default 1: the conditional output alone)
     * @return this
     */
    public StepCoefs guidance(double scale) {
        guidance = (float) scale;
        return this;
    }

    /**
     * x0 = x * x + m * model, clamped to [-clip, clip] when clip &gt; 0.
     *
     * @param x the factor of the current sample x
     * @param m the factor of the (guided) model output
     * @param clip the clamp of x0 (diffusers' {@code clip_sample_range}); 0 or less for none
     * @return this
     */
    public StepCoefs x0(double x, double m, double clip) {
        x0X = (float) x;
        x0M = (float) m;
        this.clip = (float) clip;
        return this;
    }

    /**
     * eps = x * x + m * model + x0 * x0.
     *
     * @param x the factor of the current sample x
     * @param m the factor of the (guided) model output
     * @param x0 the factor of x0, after its clamp
     * @return this
     */
    public StepCoefs eps(double x, double m, double x0) {
        epsX = (float) x;
        epsM = (float) m;
        epsX0 = (float) x0;
        return this;
    }

    /**
     * out = x * x + x0 * x0 + eps * eps + ... (see {@link #extras} and {@link #noise}).
     *
     * @param x the factor of the current sample x
     * @param x0 the factor of x0
     * @param eps the factor of eps
     * @return this
     */
    public StepCoefs out(double x, double x0, double eps) {
        outX = (float) x;
        outX0 = (float) x0;
        outEps = (float) eps;
        return this;
    }

    /**
     * out = ... + e1 * extra1 + e2 * extra2 ...: multistep history terms (DPM-Solver's previous
     * x0, say). A factor must be 0 when its tensor is not given.
     *
     * @param e1 the factor of extra1
     * @param e2 the factor of extra2
     * @return this
     */
    public StepCoefs extras(double e1, double e2) {
        outE1 = (float) e1;
        outE2 = (float) e2;
        return this;
    }

    /**
     * out = ... + sigma * z, z ~ N(0, 1) from the Philox stream (seed, offset): the same numbers
     * as {@link org.deepkern.Tensor#randn} with that generator state, without a noise tensor.
     *
     * @param sigma the noise scale; 0 draws nothing
     * @param seed the Philox key
     * @param offset the Philox counter of element 0 (element i uses counter offset + i/4)
     * @return this
     */
    public StepCoefs noise(double sigma, long seed, long offset) {
        noise = (float) sigma;
        this.seed = seed;
        this.offset = offset;
        return this;
    }

    /**
     * out2 = x * x + x0 * x0 + eps * eps, written when an out2 tensor is given (a scheduler's
     * predicted x0, say: {@code out2(0, 1, 0)}).
     *
     * @param x the factor of the current sample x
     * @param x0 the factor of x0
     * @param eps the factor of eps
     * @return this
     */
    public StepCoefs out2(double x, double x0, double eps) {
        o2X = (float) x;
        o2X0 = (float) x0;
        o2Eps = (float) eps;
        return this;
    }

    /** @return the guidance scale (default 1) */
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
