package org.deepkern.ops;

/** How a loss reduces its per-element losses, as {@code torch.nn.functional}'s {@code reduction=} names it. */
public enum Reduction {
    /** No reduction: the loss of every element (or row), shaped like the target. */
    NONE,
    /** The mean, a 0-d tensor: NaN when there is nothing to average. */
    MEAN,
    /** The sum, a 0-d tensor: 0 when there is nothing to sum. */
    SUM
}
