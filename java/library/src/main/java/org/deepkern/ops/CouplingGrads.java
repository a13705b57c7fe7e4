package org.deepkern.ops;

import org.deepkern.Tensor;

/**
 * The gradients of an affine coupling's forward ({@link F#affineCouplingBackward}).
 *
 * @param x the gradient of the transformed half x, shaped like x
 * @param h the gradient of the conditioner output h = [shift | raw scale], shaped like h
 */
public record CouplingGrads(Tensor x, Tensor h) implements AutoCloseable {
    @Override
    public void close() {
        x.close();
        h.close();
    }
}
