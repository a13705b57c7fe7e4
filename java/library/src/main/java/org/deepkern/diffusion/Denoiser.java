package org.deepkern.diffusion;

import org.deepkern.Tensor;

/**
 * A model the samplers call: given the model input x at a noise level, its prediction (of the
 * type the scheduler is configured for), as a new tensor shaped like x on x's device. The role of a
 * diffusers UNet or transformer in a pipeline's loop.
 */
@FunctionalInterface
public interface Denoiser {
    /**
     * @param x the model input ({@link Scheduler#scaleModelInput}), owned and closed by the
     *        caller
     * @param level the noise level of x: its timestep t and x = a x0 + b eps
     * @return a new tensor shaped like x on x's device, which the sampler closes after its step
     */
    Tensor predict(Tensor x, NoiseLevel level);
}
