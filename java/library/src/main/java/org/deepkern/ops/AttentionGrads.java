package org.deepkern.ops;

import org.deepkern.Tensor;

/** The gradients of scaled dot-product attention with respect to q, k and v. */
public record AttentionGrads(Tensor gradQ, Tensor gradK, Tensor gradV) implements AutoCloseable {
    @Override
    public void close() {
        gradQ.close();
        gradK.close();
        gradV.close();
    }
}
