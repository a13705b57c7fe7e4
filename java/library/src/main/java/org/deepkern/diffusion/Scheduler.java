package org.deepkern.diffusion;

import java.util.function.IntConsumer;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;

/**
 * A sampler, used as diffusers' schedulers are: {@link #setTimesteps}, then for each t of
 * {@link #timesteps()}: the model's output on {@link #scaleModelInput}(x, t), and
 * x = {@link #step}(output, t, x).prevSample(). Each step is one fused pass
 * ({@link org.deepkern.ops.F#diffusionStep}) whose scalars are computed here from the schedule;
 * any noise is drawn inside that pass from the {@link #generator}. Every tensor a method returns is
 * new and the caller's to close, so a loop that closes each step's tensors keeps one sample
 * alive, not one per step (a tensor left open stays alive while a {@link org.deepkern.Scope}
 * around the loop holds it):
 * <pre>{@code
 * scheduler.setTimesteps(50);
 * Generator g = new Generator(seed);
 * scheduler.generator(g);
 * Tensor x;
 * try (Tensor z = Tensor.randn(shape, DType.F32, device, g)) {
 *     x = z.mul(scheduler.initNoiseSigma());
 * }
 * for (double t : scheduler.timesteps()) {
 *     try (Tensor in = scheduler.scaleModelInput(x, t);
 *          Tensor eps = unet.forward(in, t);
 *          SchedulerOutput out = scheduler.step(eps, t, x)) {
 *         x.close();                  // the previous sample is used up
 *         x = out.takePrevSample();   // the next one outlives out; out closes predOriginalSample
 *     }
 * }
 * }</pre>
 * {@link #sample} is this loop.
 */
public interface Scheduler {
    /**
     * Makes the inference grid of n steps (and forgets any multistep state).
     *
     * @param n the number of steps
     */
    void setTimesteps(int n);

    /** @return the timesteps the model is called at, in order (a copy) */
    double[] timesteps();

    /**
     * @param i the index of a call in {@link #timesteps()}
     * @return the noise level of the model input at the i-th call
     */
    NoiseLevel level(int i);

    /** @return the standard deviation of the initial noise x_T (diffusers' init_noise_sigma) */
    double initNoiseSigma();

    /**
     * The model input for x at t, as diffusers' scale_model_input: x / sqrt(sigma^2 + 1) for the
     * discrete Euler family, x itself elsewhere (then a view of x).
     *
     * @param x the sample
     * @param t a timestep of the grid
     * @return a new tensor (or view), the caller's to close
     */
    Tensor scaleModelInput(Tensor x, double t);

    /**
     * Noises clean samples to timestep t, as diffusers' add_noise: a x0 + b noise with the sample's
     * level at t, sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise on a VP schedule (any train
     * timestep), x0 + sigma noise for the discrete Euler family, (1 - sigma) x0 + sigma noise for
     * flow matching (FlowMatchEulerDiscreteScheduler's scale_noise); t is a timestep of the grid
     * where the scheduler has no other table.
     *
     * @param original x0
     * @param noise standard normal noise shaped like x0, of its dtype
     * @param t the timestep
     * @return a new tensor like x0
     */
    Tensor addNoise(Tensor original, Tensor noise, double t);

    /**
     * The same with one timestep per row of dim 0 (diffusers' add_noise with a timesteps tensor).
     *
     * @param original x0, of at least one dim
     * @param noise standard normal noise shaped like x0, of its dtype
     * @param t one timestep per row of x0
     * @return a new tensor like x0
     */
    Tensor addNoise(Tensor original, Tensor noise, double[] t);

    /**
     * Sets where the steps' noise comes from (the default generator until set): each noisy step
     * draws numel(x) normals from it, advancing it by ceil(numel / 4) counters, the bits that
     * {@link Tensor#randn} would give at the same counter.
     *
     * @param generator the random source
     * @return this scheduler
     */
    Scheduler generator(Generator generator);

    /** @return the generator the steps' noise comes from */
    Generator generator();

    /**
     * One step from x at t, given the model output.
     *
     * @param modelOutput the model's prediction, shaped like x, of its dtype
     * @param t the timestep the model was called at
     * @param x the sample at t
     * @return the next sample and the predicted x0
     */
    default SchedulerOutput step(Tensor modelOutput, double t, Tensor x) {
        return step(modelOutput, null, 1, t, x);
    }

    /**
     * The same with classifier-free guidance: the model output is uncond + guidance (modelOutput - uncond).
     *
     * @param modelOutput the conditional prediction, shaped like x, of its dtype
     * @param uncond the unconditional prediction like it, or null for none
     * @param guidance the guidance scale (ignored without uncond)
     * @param t the timestep the model was called at
     * @param x the sample at t
     * @return the next sample and the predicted x0
     */
    SchedulerOutput step(Tensor modelOutput, Tensor uncond, double guidance, double t, Tensor x);

    /**
     * The loop above on device: x_T = initNoiseSigma * randn (f32) from generator, then every step,
     * its noise from the same generator, which becomes this scheduler's. progress (may be null) gets
     * the number of steps done. The same generator state on the same backend: the same bits.
     *
     * @param denoiser the model
     * @param device where the samples are made
     * @param shape the samples' shape
     * @param generator the random source of x_T and the steps' noise
     * @param progress told after each step, or null
     * @return x_0, the caller's to close
     */
    Tensor sample(Denoiser denoiser, Device device, long[] shape, Generator generator, IntConsumer progress);
}
