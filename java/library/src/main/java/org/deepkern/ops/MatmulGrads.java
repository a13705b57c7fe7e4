package org.deepkern.ops;

import org.deepkern.Tensor;

/** The gradients of a matrix product, shaped like its operands a and b. */
public record MatmulGrads(Tensor a, Tensor b) implements AutoCloseable {
    @Override
    public void close() {
        a.close();
        b.close();
    }
}
