package org.deepkern.ops;

import org.deepkern.Tensor;

/**
 * The options of {@link F#scaledDotProductAttention(Tensor, Tensor, Tensor, AttentionParams)}.
 *
 * @param scale      the factor of q k^T; NaN (or 0) for 1 / sqrt(D)
 * @param causal     the causal mask (null means NONE)
 * @param keyLengths null, or int32 / int64 [B] on the tensors' device: keys j >= keyLengths[b] are
 *                   masked (padding); values are clamped to [0, Lk]
 * @param bias       null, or an additive mask of q's dtype or f32, broadcastable to [B, Hq, Lq, Lk]
 *                   through size-1 dims (use -inf to mask); it gets no gradient
 */
public record AttentionParams(double scale, CausalMask causal, Tensor keyLengths, Tensor bias) {
    /** The default scale, no mask, no key lengths, no bias. */
    public static AttentionParams defaults() {
        return new AttentionParams(Double.NaN, CausalMask.NONE, null, null);
    }

    public AttentionParams withScale(double s) {
        return new AttentionParams(s, causal, keyLengths, bias);
    }

    public AttentionParams withCausal(CausalMask c) {
        return new AttentionParams(scale, c, keyLengths, bias);
    }

    public AttentionParams withKeyLengths(Tensor t) {
        return new AttentionParams(scale, causal, t, bias);
    }

    public AttentionParams withBias(Tensor t) {
        return new AttentionParams(scale, causal, keyLengths, t);
    }
}
