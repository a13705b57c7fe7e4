package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.Scope;
import org.deepkern.Tensor;

/**
 * A pre-norm transformer block: h = x + attention(norm1(x)), out = h + mlp(norm2(h)); each
 * residual is added in the epilogue of the projection that ends its branch. The norms are any
 * modules over the last dim (LayerNorm, RMSNorm).
 */
public final class TransformerBlock implements Module {
    private final Module norm1, norm2;
    private final MultiHeadAttention attention;
    private final SwiGluMlp mlp;

    public TransformerBlock(Module norm1, MultiHeadAttention attention, Module norm2, SwiGluMlp mlp) {
        this.norm1 = Objects.requireNonNull(norm1, "norm1");
        this.attention = Objects.requireNonNull(attention, "attention");
        this.norm2 = Objects.requireNonNull(norm2, "norm2");
        this.mlp = Objects.requireNonNull(mlp, "mlp");
    }

    @Override
    public Tensor forward(Tensor input) {
        try (Scope scope = Scope.open()) {
            Tensor h = attention.forward(norm1.forward(input), input);
            return scope.keep(mlp.forward(norm2.forward(h), h));
        }
    }

    @Override
    public String toString() {
        return "TransformerBlock(" + norm1 + ", " + attention + ", " + norm2 + ", " + mlp + ")";
    }
}
