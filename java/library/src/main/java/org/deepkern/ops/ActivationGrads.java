package org.deepkern.ops;

import org.deepkern.Tensor;

/** The gradients of an activation with a fused bias; {@code bias} is null without one. */
public record ActivationGrads(Tensor input, Tensor bias) implements AutoCloseable {
    @Override
    public void close() {
        input.close();
        if (bias != null) bias.close();
    }
}
