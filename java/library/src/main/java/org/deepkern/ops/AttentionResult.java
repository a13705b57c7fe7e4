package org.deepkern.ops;

import org.deepkern.Tensor;

/**
 * The forward of scaled dot-product attention: out [B, Hq, Lq, D] and the f32 logsumexp
 * [B, Hq, Lq] of each row's scores (-inf for a row with no allowed key), which the backward needs.
 */
public record AttentionResult(Tensor out, Tensor logsumexp) implements AutoCloseable {
    @Override
    public void close() {
        out.close();
        logsumexp.close();
    }
}
