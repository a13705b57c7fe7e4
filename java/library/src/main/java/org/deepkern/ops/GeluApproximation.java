package org.deepkern.ops;

/** GELU's two forms, as {@code torch.nn.functional.gelu(approximate=...)} names them. */
public enum GeluApproximation {
    /** x * Phi(x), with the exact error function. */
    NONE,
    /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    TANH
}
