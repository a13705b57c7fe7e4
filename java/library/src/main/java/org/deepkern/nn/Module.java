package org.deepkern.nn;

import org.deepkern.Tensor;

/** A layer: a function of one tensor, built from {@link org.deepkern.ops.F} ops. */
public interface Module {
    Tensor forward(Tensor input);
}
