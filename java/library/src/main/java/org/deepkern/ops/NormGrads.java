package org.deepkern.ops;

import org.deepkern.Tensor;

/**
 * The gradients of a normalization: of the input, and of the weight and bias summed over every
 * dim but the last ({@code weight} null without a weight, {@code bias} null for rms_norm).
 */
public record NormGrads(Tensor input, Tensor weight, Tensor bias) implements AutoCloseable {
    @Override
    public void close() {
        input.close();
        if (weight != null) weight.close();
        if (bias != null) bias.close();
    }
}
