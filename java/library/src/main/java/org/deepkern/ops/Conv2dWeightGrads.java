package org.deepkern.ops;

import org.deepkern.Tensor;

/** The weight gradient of a convolution and, when asked for, its bias gradient (else null). Closing closes both. */
public record Conv2dWeightGrads(Tensor gradWeight, Tensor gradBias) implements AutoCloseable {
    @Override
    public void close() {
        gradWeight.close();
        if (gradBias != null) gradBias.close();
    }
}
