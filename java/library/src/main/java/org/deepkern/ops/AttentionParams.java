package org.deepkern.ops;

import org.deepkern.Tensor;

/**
 * The options of {@link F#scaledDotProductAttention(Tensor, Tensor, Tensor, AttentionParams)}, as
 * torch's scaled_dot_product_attention takes them ({@code scale}, {@code is_causal},
 * {@code attn_mask}) plus per-sequence key lengths. Each {@code with...} returns a new record; the
 * tensors are referenced, not copied, and must stay open until the op has used them. The op checks
 * the options and throws a {@link org.deepkern.DeepKernException} with
 * {@link org.deepkern.Status#INVALID_ARGUMENT} for a bad one.
 *
 * @param scale      the factor of q k^T; NaN (or 0) for 1 / sqrt(D) (torch's {@code scale=None}),
 *                   otherwise finite
 * @param causal     the causal mask; NONE for none (null is rejected by the op)
 * @param keyLengths null, or int32 / int64 [B] on the tensors' device: keys j >= keyLengths[b] are
 *                   masked (padding); values are clamped to [0, Lk]
 * @param bias       null, or an additive mask of q's dtype or f32, broadcastable to [B, Hq, Lq, Lk]
 *                   through size-1 dims (use -inf to mask); it gets no gradient
 */
public record AttentionParams(double scale, CausalMask causal, Tensor keyLengths, Tensor bias) {
    /**
     * The default scale, no mask, no key lengths, no bias.
     *
     * @return scale NaN (1 / sqrt(D)), {@link CausalMask#NONE}, no key lengths, no bias
     */
    public static AttentionParams defaults() {
        return new AttentionParams(Double.NaN, CausalMask.NONE, null, null);
    }

    /**
     * @param s the factor of q k^T; NaN or 0 for 1 / sqrt(D)
     * @return a copy with this scale
     */
    public AttentionParams withScale(double s) {
        return new AttentionParams(s, causal, keyLengths, bias);
    }

    /**
     * @param c the causal mask (NONE for none)
     * @return a copy with this mask
     */
    public AttentionParams withCausal(CausalMask c) {
        return new AttentionParams(scale, c, keyLengths, bias);
    }

    /**
     * @param t int32 / int64 [B] valid keys per sequence, on the tensors' device; null for all Lk
     * @return a copy with these key lengths
     */
    public AttentionParams withKeyLengths(Tensor t) {
        return new AttentionParams(scale, causal, t, bias);
    }

    /**
     * @param t an additive mask broadcastable to [B, Hq, Lq, Lk] (-inf masks), or null for none
     * @return a copy with this bias
     */
    public AttentionParams withBias(Tensor t) {
        return new AttentionParams(scale, causal, keyLengths, t);
    }
}
