package org.deepkern.flow;

/** How an {@link AffineCoupling} divides the channels (dim 1; the features of [N, D]) into two parts. */
public enum Mask {
    /** The first C / 2 channels, then the other C - C / 2 (RealNVP's channel-wise mask, Glow's split). */
    HALVES,
    /** The even channels, then the odd ones (RealNVP's alternating mask over features); C even. */
    PARITY
}
