package org.deepkern.nn;

import java.util.Arrays;
import java.util.Objects;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.Tape;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import org.deepkern.ops.RopeLayout;

/**
 * Self-attention over x [B, L, E] with a fused QKV projection and grouped-query heads: the
 * submodule "qkv" (a {@link Linear}) gives [B, L, (Hq + 2 Hkv) * D] (the query heads, then the key
 * heads, then the value heads, each D wide), the heads are moved in front of the sequence, the
 * optional rotary embedding turns q and k, {@code F.scaledDotProductAttention} attends (causal:
 * top-left), and the submodule "proj" [E, Hq * D] maps the merged heads back to E, with an optional
 * residual added in its epilogue. The names follow timm's Attention (qkv, proj); the parameters
 * are "qkv.weight", "qkv.bias", "proj.weight" and "proj.bias".
 */
public final class MultiHeadAttention extends Module {
    /**
     * The rotary embedding applied to q and k.
     *
     * @param layout the pair layout
     * @param base the frequency base (10000 in most models)
     */
    public record Rope(RopeLayout layout, double base) {
        /**
         * Checks the layout is given.
         *
         * @param layout the pair layout
         * @param base the frequency base
         */
        public Rope {
            Objects.requireNonNull(layout, "layout");
        }
    }

    private static final String OP = "MultiHeadAttention";
    private final int heads, kvHeads;
    private final long headDim;
    private final Linear qkvLinear, projLinear;  // not qkv: forward's local of that name holds the projected input
    private final Rope rope;
    private final boolean causal;

    /**
     * torch.nn.MultiheadAttention's defaults: as many key/value heads as query heads, biases, no
     * rotary embedding, no mask, f32 on the default device, initialized from the default generator.
     *
     * @param embed E, the model width
     * @param heads the query heads, a divisor of E
     */
    public MultiHeadAttention(long embed, int heads) {
        this(embed, heads, heads, true, null, false, DType.F32, DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * Attention with torch's initialization (MultiheadAttention._reset_parameters): the qkv weight
     * xavier_uniform_ over the whole fused matrix, the proj weight as a Linear's
     * (U(-1/sqrt(E), 1/sqrt(E))), both biases 0; drawn qkv first. Head width D = E / heads.
     *
     * @param embed E, the model width
     * @param heads the query heads, a divisor of E
     * @param kvHeads the key/value heads, a divisor of heads
     * @param bias whether the projections have biases
     * @param rope the rotary embedding, or null for none
     * @param causal whether to apply the causal mask
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     * @param generator the random source of the initialization
     */
    public MultiHeadAttention(long embed, int heads, int kvHeads, boolean bias, Rope rope, boolean causal, DType dtype,
                              Device device, Generator generator) {
        this(heads, kvHeads, qkvProjection(embed, heads, kvHeads, bias, dtype, device, generator),
                projection(embed, embed, Init.defaultBound(embed), bias, dtype, device, generator), rope, causal);
    }

    /**
     * Attention over given parameters, which it adopts.
     *
     * @param heads the query heads
     * @param kvHeads the key/value heads, a divisor of heads
     * @param qkvWeight [(heads + 2 kvHeads) * D, E]
     * @param qkvBias [(heads + 2 kvHeads) * D], or null for none
     * @param outWeight [E, heads * D]
     * @param outBias [E], or null for none
     * @param rope the rotary embedding, or null for none
     * @param causal whether to apply the causal mask
     */
    public MultiHeadAttention(int heads, int kvHeads, Tensor qkvWeight, Tensor qkvBias, Tensor outWeight, Tensor outBias,
                              Rope rope, boolean causal) {
        this(heads, kvHeads, new Linear(Objects.requireNonNull(qkvWeight, "qkvWeight"), qkvBias),
                new Linear(Objects.requireNonNull(outWeight, "outWeight"), outBias), rope, causal);
    }

    private MultiHeadAttention(int heads, int kvHeads, Linear qkv, Linear proj, Rope rope, boolean causal) {
        checkHeads(heads, kvHeads);
        Tensor qkvWeight = qkv.weight(), outWeight = proj.weight();
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
        this.qkvLinear = registerModule("qkv", qkv);
        this.projLinear = registerModule("proj", proj);
        this.rope = rope;
        this.causal = causal;
    }

    private static void checkHeads(int heads, int kvHeads) {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) throw DeepKernException.invalidArgument("new " + OP, "kvHeads",
                "expected a positive divisor of heads (" + heads + "), got " + kvHeads);
    }

    private static Linear qkvProjection(long embed, int heads, int kvHeads, boolean bias, DType dtype, Device device,
                                        Generator generator) {
        checkHeads(heads, kvHeads);
        if (Init.size("new " + OP, "embed", embed) % heads != 0) throw DeepKernException.invalidArgument("new " + OP, "heads",
                "expected a divisor of embed (" + embed + "), got " + heads);
        long rows = (heads + 2L * kvHeads) * (embed / heads);
        return projection(rows, embed, Init.xavierBound(embed, rows), bias, dtype, device, generator);
    }

    /** A Linear with weight U(-bound, bound) and bias 0. */
    private static Linear projection(long out, long in, double bound, boolean bias, DType dtype, Device device,
                                     Generator generator) {
        return new Linear(Init.uniform("new " + OP, new long[] {out, in}, bound, dtype, device, generator),
                bias ? Init.constant(new long[] {out}, 0, dtype, device) : null);
    }

    /** @return the query heads */
    public int heads() {
        return heads;
    }

    /** @return the key/value heads */
    public int kvHeads() {
        return kvHeads;
    }

    /** @return D, the width of each head */
    public long headDim() {
        return headDim;
    }

    /** @return the fused QKV projection */
    public Linear qkv() {
        return qkvLinear;
    }

    /** @return the output projection */
    public Linear proj() {
        return projLinear;
    }

    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null);
    }

    /**
     * attention(x) + residual, the residual added in the output projection's epilogue.
     *
     * @param input [B, L, E]
     * @param residual [B, L, E], or null for none
     * @return [B, L, E]
     */
    public Tensor forward(Tensor input, Tensor residual) {
        // the projections' current tensors: to() replaces them
        Tensor qkvWeight = qkvLinear.weight(), qkvBias = qkvLinear.bias(), outWeight = projLinear.weight(), outBias = projLinear.bias();
        if (input == null) throw DeepKernException.invalidArgument(OP + ".forward", "input", "expected a tensor, got null");
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
            AttentionParams p = AttentionParams.defaults().withCausal(causal ? CausalMask.TOP_LEFT : CausalMask.NONE);
            Tensor merged;
            if (Tape.isRecording()) {  // an out form is not recorded: the heads are copied side by side instead
                merged = F.scaledDotProductAttention(q, k, v, p).out().permute(0, 2, 1, 3).reshape(b, l, heads * headDim);
            } else {
                Tensor heads4 = Tensor.empty(new long[] {b, l, heads, headDim}, input.dtype(), input.device());
                F.scaledDotProductAttention(q, k, v, p, heads4.permute(0, 2, 1, 3));
                merged = heads4.view(b, l, heads * headDim);
            }
            return scope.keep(F.linear(merged, outWeight, outBias, null, residual));
        }
    }

    private Tensor turned(Tensor x) {
        return rope == null ? x : F.rotaryEmbedding(x, rope.layout(), rope.base(), 0);
    }

    @Override
    protected String extraRepr() {
        return "embed=" + qkvLinear.weight().shape(1) + ", heads=" + heads + ", kv_heads=" + kvHeads + ", head_dim=" + headDim
                + ", causal=" + causal + (rope == null ? "" : ", " + rope);
    }
}
