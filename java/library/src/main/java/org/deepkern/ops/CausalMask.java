package org.deepkern.ops;

/**
 * The causal mask of {@link F#scaledDotProductAttention}: none; {@code TOP_LEFT}, query row i sees
 * keys j &lt;= i (PyTorch's {@code is_causal}); {@code BOTTOM_RIGHT}, row i sees keys
 * j &lt;= i + Lk - Lq, so the last query row sees every key (decoding with a key/value cache; with key
 * lengths, Lk is each sequence's own length).
 */
public enum CausalMask {
    /** No causal mask: every query row sees every key (within the key lengths). */
    NONE,
    /** Row i sees keys j &lt;= i: PyTorch's {@code is_causal=True}, for training and prefill. */
    TOP_LEFT,
    /** Row i sees keys j &lt;= i + Lk - Lq: the last row sees every key, as when decoding with a cache. */
    BOTTOM_RIGHT
}
