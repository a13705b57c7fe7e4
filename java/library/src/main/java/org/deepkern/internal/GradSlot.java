package org.deepkern.internal;

import org.deepkern.Tensor;

/**
 * A tensor's autograd state, made the first time autograd touches the tensor: whether it is a leaf
 * that wants a gradient, the gradient accumulated into it, and the node of the tape that made it
 * (null for a leaf). Owned by the tensor; read and written by org.deepkern.autograd. Not part of the
 * public API.
 */
public final class GradSlot {
    /** Set on a leaf by {@link Tensor#requiresGrad(boolean)}. */
    public boolean requiresGrad;
    /** The gradient accumulated by backward passes: owned here, outside every scope; null until the first. */
    public Tensor grad;
    /** The tape node that made the tensor, while its tape records or waits for backward; null for a leaf. */
    public Object node;
    /** Which of that node's outputs the tensor is. */
    public int outputIndex;
}
