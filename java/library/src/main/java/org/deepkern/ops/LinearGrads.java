package org.deepkern.ops;

import org.deepkern.Tensor;

/** The gradients of a linear layer: of the input, the weight and the bias (null without one). */
public record LinearGrads(Tensor input, Tensor weight, Tensor bias) implements AutoCloseable {
    @Override
    public void close() {
        input.close();
        weight.close();
        if (bias != null) bias.close();
    }
}
