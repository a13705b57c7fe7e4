package org.deepkern.nn;

import java.util.Arrays;
import java.util.Objects;
import org.deepkern.DeepKernException;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import org.deepkern.ops.RopeLayout;

/**
 * Self-attention over x [B, L, E] with a fused QKV projection and grouped-query heads: one
 * {@code F.linear} gives [B, L, (Hq + 2 Hkv) * D] (the query heads, then the key heads, then the
 * value heads, each D wide), the heads are moved in front of the sequence, the optional rotary
 * embedding turns q and k, {@code F.scaledDotProductAttention} attends (causal: top-left), and the
 * output projection [E, Hq * D] maps the merged heads back to E, with an optional residual added
 * in its epilogue. Holds, does not own, its parameters.
 */
public final class MultiHeadAttention implements Module {
    /** The rotary embedding applied to q and k: pair layout and base (10000 in most models). */
    public record Rope(RopeLayout layout, double base) {
        public Rope {
            Objects.requireNonNull(layout, "layout");
        }
    }

    private static final String OP = "MultiHeadAttention";
    private final int heads, kvHeads;
    private final long headDim;
    private final Tensor qkvWeight, qkvBias, outWeight, outBias;
    private final Rope rope;
    private final boolean causal;

    /**
     * qkvWeight [(heads + 2 kvHeads) * D, E] and qkvBias [(heads + 2 kvHeads) * D] or null; outWeight
     * [E, heads * D] and outBias [E] or null; kvHeads divides heads; rope null for none.
     */
    public MultiHeadAttention(int heads, int kvHeads, Tensor qkvWeight, Tensor qkvBias, Tensor outWeight, Tensor outBias,
                              Rope rope, boolean causal) {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) throw DeepKernException.invalidArgument("new " + OP, "kvHeads",
                "expected a positive divisor of heads (" + heads + "), got " + kvHeads);
        this.qkvWeight = Objects.requireNonNull(qkvWeight, "qkvWeight");
        this.outWeight = Objects.requireNonNull(outWeight, "outWeight");
        long rows = qkvWeight.ndim() == 2 ? qkvWeight.shape(0) : -1, perHead = heads + 2L * kvHeads;
        if (rows <= 0 || rows % perHead != 0) throw DeepKernException.invalidArgument("new " + OP, "qkvWeight",
                "expected [(heads + 2 kvHeads) * D, E] = [" + perHead + " * D, E], got " + Arrays.toString(qkvWeight.shape()));
        this.headDim = rows / perHead;
        long embed = qkvWeight.shape(1);
        if (outWeight.ndim() != 2 || outWeight.shape(0) != embed || outWeight.shape(1) != heads * headDim)
            throw DeepKernException.invalidArgument("new " + OP, "outWeight", "expected [E, heads * D] = [" + embed + ", "
                    + heads * headDim + "], got " + Arrays.toString(outWeight.shape()));
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.qkvBias = qkvBias;
        this.outBias = outBias;
        this.rope = rope;
        this.causal = causal;
    }

    public int heads() {
        return heads;
    }

    public int kvHeads() {
        return kvHeads;
    }

    public long headDim() {
        return headDim;
    }

    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null);
    }

    /** attention(x) + residual, the residual added in the output projection's epilogue (null: none). */
    public Tensor forward(Tensor input, Tensor residual) {
        Objects.requireNonNull(input, "input");
        if (input.ndim() != 3 || input.shape(2) != qkvWeight.shape(1)) throw DeepKernException.invalidArgument(OP + ".forward", "input",
                "expected [B, L, " + qkvWeight.shape(1) + "], got " + Arrays.toString(input.shape()));
        long b = input.shape(0), l = input.shape(1);
        // every head is a view: the attention reads q, k, v from the projection's [B, L, heads, D] rows
        // and writes its heads side by side into [B, L, heads, D], the out projection's input
        try (Scope scope = Scope.open()) {
            Tensor qkv = F.linear(input, qkvWeight, qkvBias).view(b, l, heads + 2L * kvHeads, headDim).permute(0, 2, 1, 3);
            Tensor q = turned(qkv.narrow(1, 0, heads));
            Tensor k = turned(qkv.narrow(1, heads, kvHeads));
            Tensor v = qkv.narrow(1, heads + (long) kvHeads, kvHeads);
            Tensor merged = Tensor.empty(new long[] {b, l, heads, headDim}, input.dtype(), input.device());
            AttentionParams p = AttentionParams.defaults().withCausal(causal ? CausalMask.TOP_LEFT : CausalMask.NONE);
            F.scaledDotProductAttention(q, k, v, p, merged.permute(0, 2, 1, 3));
            return scope.keep(F.linear(merged.view(b, l, heads * headDim), outWeight, outBias, null, residual));
        }
    }

    private Tensor turned(Tensor x) {
        return rope == null ? x : F.rotaryEmbedding(x, rope.layout(), rope.base(), 0);
    }

    @Override
    public String toString() {
        return "MultiHeadAttention(E=" + qkvWeight.shape(1) + ", heads=" + heads + ", kvHeads=" + kvHeads + ", D=" + headDim
                + (causal ? ", causal" : "") + (rope == null ? "" : ", " + rope) + ")";
    }
}
