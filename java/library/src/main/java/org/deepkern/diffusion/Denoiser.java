package org.deepkern.diffusion;

import org.deepkern.Tensor;

/**
 * A model the samplers call: given the model input x at a noise level, its prediction (of the
 * type the scheduler is configured for), as a new tensor shaped like x on x's device.
 */
@FunctionalInterface
public interface Denoiser {
    Tensor predict(Tensor x, NoiseLevel level);
}
