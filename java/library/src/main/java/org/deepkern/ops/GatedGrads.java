package org.deepkern.ops;

import org.deepkern.Tensor;

/** The gradients of a two-tensor gated unit. */
public record GatedGrads(Tensor gate, Tensor up) implements AutoCloseable {
    @Override
    public void close() {
        gate.close();
        up.close();
    }
}
