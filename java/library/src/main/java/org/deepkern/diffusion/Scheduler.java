package org.deepkern.diffusion;

import java.util.function.IntConsumer;
import org.deepkern.Device;
import org.deepkern.Tensor;

/**
 * A sampler, used as diffusers' schedulers are: {@link #setTimesteps}, then for each t of
 * {@link #timesteps()}: the model's output on {@link #scaleModelInput}(x, t), and
 * x = {@link #step}(output, t, x). Each step is one fused pass ({@link org.deepkern.ops.F#diffusionStep})
 * whose scalars are computed here from the schedule; any noise is drawn inside that pass from the
 * Philox stream set by {@link #generator}. Steps return new tensors; the caller owns them.
 */
public interface Scheduler {
    /** Makes the inference grid of n steps (and forgets any multistep state). */
    void setTimesteps(int n);

    /** The timesteps the model is called at, in order (a copy). */
    double[] timesteps();

    /** The noise level of the model input at the i-th call. */
    NoiseLevel level(int i);

    /** The standard deviation of the initial noise x_T. */
    double initNoiseSigma();

    /** The model input for x at t: x itself (same tensor) or a scaled copy. */
    Tensor scaleModelInput(Tensor x, double t);

    /** The Philox stream the steps' noise comes from; each noisy step advances offset by ceil(n/4). */
    void generator(long seed, long offset);

    /** One step from x at t, given the model output. */
    default Tensor step(Tensor modelOutput, double t, Tensor x) {
        return step(modelOutput, null, 1, t, x);
    }

    /** The same with classifier-free guidance: the model output is uncond + guidance (cond - uncond). */
    Tensor step(Tensor cond, Tensor uncond, double guidance, double t, Tensor x);

    /**
     * A whole sampling loop on device: x_T = initNoiseSigma * randn(seed) (f32, Philox offset 0),
     * then every step, its noise from (seed, ceil(numel/4) onwards). progress (may be null) gets the
     * number of steps done. Same seed, same backend: the same bits.
     */
    Tensor sample(Denoiser denoiser, Device device, long[] shape, long seed, IntConsumer progress);
}
