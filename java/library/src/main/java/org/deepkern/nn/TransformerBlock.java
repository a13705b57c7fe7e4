package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.RopeLayout;

/**
 * A pre-norm transformer block: h = x + attention(norm1(x)), out = h + mlp(norm2(h)); each
 * residual is added in the epilogue of the projection that ends its branch. The submodules are
 * "norm1", "attention", "norm2" and "mlp"; the norms are any modules over the last dim (LayerNorm,
 * RMSNorm).
 */
public final class TransformerBlock extends Module {
    private final Module norm1, norm2;
    private final MultiHeadAttention attention;
    private final SwiGluMlp mlp;

    /**
     * A LLaMA-style block with as many key/value heads as query heads, f32 on the default device,
     * initialized from the default generator.
     *
     * @param embed E, the model width
     * @param heads the query heads, a divisor of E
     * @param hidden the MLP's hidden width
     */
    public TransformerBlock(long embed, int heads, long hidden) {
        this(embed, heads, heads, hidden, DType.F32, DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * A LLaMA-style block: RMSNorms with eps 1e-6 (Hugging Face's LlamaConfig default), causal
     * attention with the half-split rotary embedding (base 10000), no biases; initialized as each
     * submodule's torch counterpart, drawn attention first, then the MLP.
     *
     * @param embed E, the model width
     * @param heads the query heads, a divisor of E
     * @param kvHeads the key/value heads, a divisor of heads
     * @param hidden the MLP's hidden width
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     * @param generator the random source of the initialization
     */
    public TransformerBlock(long embed, int heads, int kvHeads, long hidden, DType dtype, Device device, Generator generator) {
        this(new RMSNorm(embed, 1e-6, dtype, device),
                new MultiHeadAttention(embed, heads, kvHeads, false, new MultiHeadAttention.Rope(RopeLayout.HALF_SPLIT, 10000),
                        true, dtype, device, generator),
                new RMSNorm(embed, 1e-6, dtype, device), new SwiGluMlp(embed, hidden, false, dtype, device, generator));
    }

    /**
     * A block of given submodules, which it adopts.
     *
     * @param norm1 the norm before attention
     * @param attention the attention
     * @param norm2 the norm before the MLP
     * @param mlp the MLP
     */
    public TransformerBlock(Module norm1, MultiHeadAttention attention, Module norm2, SwiGluMlp mlp) {
        this.norm1 = registerModule("norm1", Objects.requireNonNull(norm1, "norm1"));
        this.attention = registerModule("attention", Objects.requireNonNull(attention, "attention"));
        this.norm2 = registerModule("norm2", Objects.requireNonNull(norm2, "norm2"));
        this.mlp = registerModule("mlp", Objects.requireNonNull(mlp, "mlp"));
    }

    @Override
    public Tensor forward(Tensor input) {
        try (Scope scope = Scope.open()) {
            Tensor h = attention.forward(norm1.forward(input), input);
            return scope.keep(mlp.forward(norm2.forward(h), h));
        }
    }
}
