package org.deepkern.ops;

import org.deepkern.Tensor;

/**
 * A max pooling's output and, per output element, the index h * W + w of its maximum within its
 * image plane (int64, shaped like the output), which the backward reads.
 *
 * @param output the pooled image
 * @param indices the argmax indices
 */
public record PoolResult(Tensor output, Tensor indices) {}
