package org.deepkern.ops;

/** Which elements of a head the rotary embedding turns together. */
public enum RopeLayout {
    /** Element i with i + D/2 (GPT-NeoX, Llama: rotate_half). */
    HALF_SPLIT,
    /** Element 2i with 2i + 1 (GPT-J, the original RoFormer). */
    INTERLEAVED
}
