package org.deepkern.autograd;

import org.deepkern.Tensor;

/**
 * The backward of an op recorded with {@link Tape#record}: the gradients of its inputs from those
 * of its outputs (torch's {@code autograd.Function.backward}).
 */
@FunctionalInterface
public interface Backward {
    /**
     * @param gradOutputs one gradient per output, shaped like it (zeros where no gradient reached it);
     *     the tape owns them
     * @param saved the tape's aliases of the tensors the op saved, in their order, valid during this
     *     call only
     * @return one gradient per input, shaped like it, or null for an input that needs none; the tape
     *     owns and closes them (one may be an element of gradOutputs, and the same tensor may be given
     *     for several inputs)
     */
    Tensor[] apply(Tensor[] gradOutputs, Tensor[] saved);
}
