package org.deepkern.flow;

import org.deepkern.Tensor;

/**
 * What a flow's forward pass (data to noise) gives: the output and the log-determinant of its
 * Jacobian per sample.
 *
 * @param z the output, a new tensor the caller owns
 * @param logDet f32 [N]: log |det dz/dx| of each sample, a new tensor the caller owns
 */
public record FlowResult(Tensor z, Tensor logDet) implements AutoCloseable {
    /** Closes both tensors. */
    @Override
    public void close() {
        z.close();
        logDet.close();
    }
}
