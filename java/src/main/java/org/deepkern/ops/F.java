package org.deepkern.ops;

import static org.deepkern.bindings.global.deepkern.*;

import java.util.Arrays;
import java.util.function.Consumer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.IntPointer;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;

/**
 * The functional ops, named after {@code torch.nn.functional}. Each runs on the device of its
 * first tensor argument; every tensor argument must be on that device. Forms taking {@code out}
 * write into it (it may be the input itself for element-wise ops) and return it. Every argument is
 * validated before anything is allocated or launched; a bad one raises {@link DeepKernException}
 * naming the method called and the argument.
 */
public final class F {
    private F() {}

    // ---- activations: out = act(x + bias) ----

    /** act(x), any activation. */
    public static Tensor activation(Act act, Tensor x) {
        return activation(new Call("F.activation"), act, x, null);
    }

    /** act(x + bias), bias broadcast over the last dim of x (null for none). */
    public static Tensor activation(Act act, Tensor x, Tensor bias) {
        return activation(new Call("F.activation"), act, x, bias);
    }

    public static Tensor activation(Act act, Tensor x, Tensor bias, Tensor out) {
        return activation(new Call("F.activation"), act, x, bias, out);
    }

    private static Tensor activation(Call c, Act act, Tensor x, Tensor bias) {
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), out -> activation(c, act, x, bias, out));
    }

    private static Tensor activation(Call c, Act act, Tensor x, Tensor bias, Tensor out) {
        c.tensor("x", x);
        c.check(dk_activation_forward(c.context(), descriptor(c, act), c.in("x", x), c.optional("bias", bias),
                c.in("out", out)));
        return out;
    }

    /** The gradient of act(x) given the output's gradient; recomputes act from x. */
    public static Tensor activationBackward(Act act, Tensor x, Tensor gradOut) {
        Call c = new Call("F.activationBackward");
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), gradIn -> c.check(dk_activation_backward(c.context(),
                descriptor(c, act), c.in("x", x), null, c.in("gradOut", gradOut), gradIn.nativeHandle(), null)));
    }

    /** The gradients of act(x + bias): of x, and of bias summed over every dim but the last. */
    public static ActivationGrads activationBackward(Act act, Tensor x, Tensor bias, Tensor gradOut) {
        Call c = new Call("F.activationBackward");
        Tensor in = c.tensor("x", x);
        Tensor b = c.tensor("bias", bias);
        try (Scope outputs = Scope.open()) {
            Tensor gradIn = c.output(in.dtype(), in.shape());
            Tensor gradBias = c.output(b.dtype(), b.shape());
            c.check(dk_activation_backward(c.context(), descriptor(c, act), c.in("x", x), c.in("bias", bias),
                    c.in("gradOut", gradOut), gradIn.nativeHandle(), gradBias.nativeHandle()));
            return new ActivationGrads(outputs.keep(gradIn), outputs.keep(gradBias));
        }
    }

    public static Tensor threshold(Tensor x, double threshold, double value) {
        return activation(new Call("F.threshold"), Act.of("F.threshold", Act.Kind.THRESHOLD, threshold, value), x, null);
    }

    /** The perceptron's unit: 1 where x > theta, else 0. */
    public static Tensor step(Tensor x, double theta) {
        return activation(new Call("F.step"), Act.of("F.step", Act.Kind.STEP, theta, 0), x, null);
    }

    public static Tensor relu(Tensor x) {
        return activation(new Call("F.relu"), Act.relu(), x, null);
    }

    public static Tensor leakyRelu(Tensor x, double negativeSlope) {
        return activation(new Call("F.leakyRelu"), Act.of("F.leakyRelu", Act.Kind.LEAKY_RELU, negativeSlope, 0), x, null);
    }

    public static Tensor elu(Tensor x, double alpha) {
        return activation(new Call("F.elu"), Act.of("F.elu", Act.Kind.ELU, alpha, 0), x, null);
    }

    public static Tensor selu(Tensor x) {
        return activation(new Call("F.selu"), Act.selu(), x, null);
    }

    public static Tensor celu(Tensor x, double alpha) {
        return activation(new Call("F.celu"), Act.of("F.celu", Act.Kind.CELU, alpha, 0), x, null);
    }

    public static Tensor sigmoid(Tensor x) {
        return activation(new Call("F.sigmoid"), Act.sigmoid(), x, null);
    }

    public static Tensor tanh(Tensor x) {
        return activation(new Call("F.tanh"), Act.tanh(), x, null);
    }

    public static Tensor hardtanh(Tensor x, double minVal, double maxVal) {
        return activation(new Call("F.hardtanh"), Act.of("F.hardtanh", Act.Kind.HARDTANH, minVal, maxVal), x, null);
    }

    public static Tensor hardsigmoid(Tensor x) {
        return activation(new Call("F.hardsigmoid"), Act.hardsigmoid(), x, null);
    }

    public static Tensor hardswish(Tensor x) {
        return activation(new Call("F.hardswish"), Act.hardswish(), x, null);
    }

    public static Tensor softplus(Tensor x, double beta, double threshold) {
        return activation(new Call("F.softplus"), Act.of("F.softplus", Act.Kind.SOFTPLUS, beta, threshold), x, null);
    }

    /** silu, also called swish: x sigmoid(x). */
    public static Tensor silu(Tensor x) {
        return activation(new Call("F.silu"), Act.silu(), x, null);
    }

    public static Tensor mish(Tensor x) {
        return activation(new Call("F.mish"), Act.mish(), x, null);
    }

    /** GELU, exact form: x Phi(x). */
    public static Tensor gelu(Tensor x) {
        return gelu(x, GeluApproximation.NONE);
    }

    public static Tensor gelu(Tensor x, GeluApproximation approximate) {
        return activation(new Call("F.gelu"), Act.gelu("F.gelu", approximate), x, null);
    }

    public static Tensor gelu(Tensor x, GeluApproximation approximate, Tensor out) {
        return activation(new Call("F.gelu"), Act.gelu("F.gelu", approximate), x, null, out);
    }

    /** x sigmoid(1.702 x). */
    public static Tensor quickGelu(Tensor x) {
        return activation(new Call("F.quickGelu"), Act.quickGelu(), x, null);
    }

    // ---- gated linear units: up * act(gate) ----
    // Split forms take x [..., 2H] = [up | gate] along the last dim, as torch.nn.functional.glu.

    /** up * gate(gate) for same-shaped gate and up; gate is sigmoid, silu, gelu or relu. */
    public static Tensor gated(Act gate, Tensor gateInput, Tensor up) {
        return gated(new Call("F.gated"), gate, gateInput, up);
    }

    private static Tensor gated(Call c, Act gate, Tensor gateInput, Tensor up) {
        Tensor g = c.tensor("gate", gateInput);
        return fresh(c.output(g.dtype(), g.shape()), out -> c.check(dk_gated_forward(c.context(), descriptor(c, gate),
                c.in("gate", gateInput), c.in("up", up), out.nativeHandle())));
    }

    /** The split form: x [..., 2H] = [up | gate] gives [..., H]. */
    public static Tensor gated(Act gate, Tensor x) {
        return gated(new Call("F.gated"), gate, x);
    }

    private static Tensor gated(Call c, Act gate, Tensor x) {
        Tensor in = c.tensor("x", x);
        long[] half = halfShape(c, in);
        return fresh(c.output(in.dtype(), half), out -> c.check(dk_gated_split_forward(c.context(), descriptor(c, gate),
                c.in("x", x), out.nativeHandle())));
    }

    public static GatedGrads gatedBackward(Act gate, Tensor gateInput, Tensor up, Tensor gradOut) {
        Call c = new Call("F.gatedBackward");
        Tensor g = c.tensor("gate", gateInput);
        try (Scope outputs = Scope.open()) {
            Tensor gradGate = c.output(g.dtype(), g.shape());
            Tensor gradUp = c.output(g.dtype(), g.shape());
            c.check(dk_gated_backward(c.context(), descriptor(c, gate), c.in("gate", gateInput), c.in("up", up),
                    c.in("gradOut", gradOut), gradGate.nativeHandle(), gradUp.nativeHandle()));
            return new GatedGrads(outputs.keep(gradGate), outputs.keep(gradUp));
        }
    }

    /** The gradient of the split form, shaped like x. */
    public static Tensor gatedBackward(Act gate, Tensor x, Tensor gradOut) {
        Call c = new Call("F.gatedBackward");
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), gradX -> c.check(dk_gated_split_backward(c.context(),
                descriptor(c, gate), c.in("x", x), c.in("gradOut", gradOut), gradX.nativeHandle())));
    }

    /** torch glu: first half * sigmoid(second half). */
    public static Tensor glu(Tensor x) {
        return gated(new Call("F.glu"), Act.sigmoid(), x);
    }

    public static Tensor glu(Tensor gate, Tensor up) {
        return gated(new Call("F.glu"), Act.sigmoid(), gate, up);
    }

    /** up * silu(gate). */
    public static Tensor swiglu(Tensor x) {
        return gated(new Call("F.swiglu"), Act.silu(), x);
    }

    public static Tensor swiglu(Tensor gate, Tensor up) {
        return gated(new Call("F.swiglu"), Act.silu(), gate, up);
    }

    /** up * gelu(gate). */
    public static Tensor geglu(Tensor x, GeluApproximation approximate) {
        return gated(new Call("F.geglu"), Act.gelu("F.geglu", approximate), x);
    }

    public static Tensor geglu(Tensor gate, Tensor up, GeluApproximation approximate) {
        return gated(new Call("F.geglu"), Act.gelu("F.geglu", approximate), gate, up);
    }

    /** up * relu(gate). */
    public static Tensor reglu(Tensor x) {
        return gated(new Call("F.reglu"), Act.relu(), x);
    }

    public static Tensor reglu(Tensor gate, Tensor up) {
        return gated(new Call("F.reglu"), Act.relu(), gate, up);
    }

    // ---- softmax and normalization over the last dim ----

    /** softmax over the last dim (statistics in f32). */
    public static Tensor softmax(Tensor x) {
        return softmax(new Call("F.softmax"), x, false);
    }

    /** log_softmax over the last dim. */
    public static Tensor logSoftmax(Tensor x) {
        return softmax(new Call("F.logSoftmax"), x, true);
    }

    /** The gradient of softmax from its output y: y (gradOut - sum(gradOut y)) per row. */
    public static Tensor softmaxBackward(Tensor y, Tensor gradOut) {
        return softmaxBackward(new Call("F.softmaxBackward"), y, gradOut, false);
    }

    /** The gradient of log_softmax from its output y: gradOut - exp(y) sum(gradOut) per row. */
    public static Tensor logSoftmaxBackward(Tensor y, Tensor gradOut) {
        return softmaxBackward(new Call("F.logSoftmaxBackward"), y, gradOut, true);
    }

    private static Tensor softmax(Call c, Tensor x, boolean log) {
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()),
                out -> c.check(dk_softmax_forward(c.context(), in.nativeHandle(), log ? 1 : 0, out.nativeHandle())));
    }

    private static Tensor softmaxBackward(Call c, Tensor y, Tensor gradOut, boolean log) {
        Tensor in = c.tensor("y", y);
        return fresh(c.output(in.dtype(), in.shape()), gradX -> c.check(dk_softmax_backward(c.context(),
                in.nativeHandle(), c.in("gradOut", gradOut), log ? 1 : 0, gradX.nativeHandle())));
    }

    /**
     * layer_norm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias, var biased;
     * weight and bias [C] may be null (1 and 0).
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        Call c = new Call("F.layerNorm");
        Tensor in = c.tensor("x", x);
        float e = eps(c, eps);
        return fresh(c.output(in.dtype(), in.shape()), out -> c.check(dk_layer_norm_forward(c.context(),
                in.nativeHandle(), c.optional("weight", weight), c.optional("bias", bias), e, out.nativeHandle())));
    }

    /**
     * The gradients of layer_norm: of x, of weight (null when weight is null) and of bias (when
     * withBias), the last two summed over every dim but the last.
     */
    public static NormGrads layerNormBackward(Tensor x, Tensor weight, Tensor gradOut, double eps, boolean withBias) {
        return normBackward(new Call("F.layerNormBackward"), x, weight, gradOut, eps, withBias, false);
    }

    /** rms_norm over the last dim: x / sqrt(mean(x^2) + eps) * weight; weight [C] may be null. */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        Call c = new Call("F.rmsNorm");
        Tensor in = c.tensor("x", x);
        float e = eps(c, eps);
        return fresh(c.output(in.dtype(), in.shape()), out -> c.check(dk_rms_norm_forward(c.context(),
                in.nativeHandle(), c.optional("weight", weight), e, out.nativeHandle())));
    }

    /** The gradients of rms_norm: of x, and of weight (null when weight is null). */
    public static NormGrads rmsNormBackward(Tensor x, Tensor weight, Tensor gradOut, double eps) {
        return normBackward(new Call("F.rmsNormBackward"), x, weight, gradOut, eps, false, true);
    }

    private static NormGrads normBackward(Call c, Tensor x, Tensor weight, Tensor gradOut, double eps, boolean withBias,
                                          boolean rms) {
        Tensor in = c.tensor("x", x);
        if (weight != null) c.tensor("weight", weight);
        c.tensor("gradOut", gradOut);
        float e = eps(c, eps);
        long[] s = in.shape();
        long[] param = {s.length == 0 ? 1 : s[s.length - 1]};
        try (Scope outputs = Scope.open()) {
            Tensor gradX = c.output(in.dtype(), s);
            Tensor gradW = weight == null ? null : c.output(in.dtype(), param);
            Tensor gradB = withBias ? c.output(in.dtype(), param) : null;
            var w = c.optional("weight", weight);
            var g = c.in("gradOut", gradOut);
            var gw = gradW == null ? null : gradW.nativeHandle();
            var gb = gradB == null ? null : gradB.nativeHandle();
            c.check(rms ? dk_rms_norm_backward(c.context(), in.nativeHandle(), w, g, e, gradX.nativeHandle(), gw)
                    : dk_layer_norm_backward(c.context(), in.nativeHandle(), w, g, e, gradX.nativeHandle(), gw, gb));
            return new NormGrads(outputs.keep(gradX), outputs.keep(gradW), outputs.keep(gradB));
        }
    }

    /** eps as the native ops take it: an f32 above 0. */
    private static float eps(Call c, double eps) {
        if (!((float) eps > 0) || Float.isInfinite((float) eps))
            throw c.invalid("eps", "expected a finite number > 0 (as an f32), got " + eps);
        return (float) eps;
    }

    // ---- rotary position embedding ----

    /**
     * Rotary position embedding of x [B, H, L, D] (D even): position p = l + positionOffset turns
     * pair i by p * base^(-2i/D), pairs as the layout says.
     */
    public static Tensor rotaryEmbedding(Tensor x, RopeLayout layout, double base, long positionOffset) {
        return rope(new Call("F.rotaryEmbedding"), "x", x, layout, base, positionOffset, false);
    }

    /** The gradient of {@link #rotaryEmbedding}: the same turn by -theta applied to gradOut. */
    public static Tensor rotaryEmbeddingBackward(Tensor gradOut, RopeLayout layout, double base, long positionOffset) {
        return rope(new Call("F.rotaryEmbeddingBackward"), "gradOut", gradOut, layout, base, positionOffset, true);
    }

    private static Tensor rope(Call c, String name, Tensor x, RopeLayout layout, double base, long offset,
                               boolean backward) {
        Tensor in = c.tensor(name, x);
        c.required("layout", layout, "HALF_SPLIT or INTERLEAVED");
        if (!((float) base > 0) || Float.isInfinite((float) base))
            throw c.invalid("base", "expected a finite number > 0 (as an f32), got " + base);
        if (offset < 0) throw c.invalid("positionOffset", "expected >= 0, got " + offset);
        int code = layout == RopeLayout.HALF_SPLIT ? DK_ROPE_HALF_SPLIT : DK_ROPE_INTERLEAVED;
        return fresh(c.output(in.dtype(), in.shape()), out -> c.check(backward
                ? dk_rope_backward(c.context(), in.nativeHandle(), code, (float) base, offset, out.nativeHandle())
                : dk_rope_forward(c.context(), in.nativeHandle(), code, (float) base, offset, out.nativeHandle())));
    }

    // ---- matrix products ----

    /**
     * a @ b with torch.matmul's rules: over the last two dims, batch dims broadcast; a 1-D a [K] is the
     * row [1, K] and a 1-D b [K] the column [K, 1], that 1 dropped from the result.
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        return matmul(a, b, false, false);
    }

    /** op(a) @ op(b), op transposing the last two dims where asked (no copy is made; vectors have no transpose). */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Call c = new Call("F.matmul");
        Tensor ta = c.tensor("a", a), tb = c.tensor("b", b);
        long[] out = shapeOf(c, (shape, ndim) -> dk_matmul_output_shape(c.context(), ta.nativeHandle(), tb.nativeHandle(),
                transA ? 1 : 0, transB ? 1 : 0, shape, ndim));
        return fresh(c.output(ta.dtype(), out), o -> c.check(dk_matmul(c.context(), ta.nativeHandle(), tb.nativeHandle(),
                transA ? 1 : 0, transB ? 1 : 0, o.nativeHandle())));
    }

    /** x @ weight^T + bias (torch.nn.functional.linear); weight [out, in], bias [out] or null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return linear(new Call("F.linear"), x, weight, bias, null, null);
    }

    /** act(x @ weight^T + bias) + residual in one pass; act, bias and residual may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual) {
        return linear(new Call("F.linear"), x, weight, bias, act, residual);
    }

    private static Tensor linear(Call c, Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual) {
        Tensor in = c.tensor("x", x), w = c.tensor("weight", weight);
        long[] out = shapeOf(c, (shape, ndim) -> dk_linear_output_shape(c.context(), in.nativeHandle(), w.nativeHandle(),
                shape, ndim));
        return fresh(c.output(in.dtype(), out), o -> c.check(dk_linear(c.context(), in.nativeHandle(), w.nativeHandle(),
                c.optional("bias", bias), act == null ? null : act.handle(), c.optional("residual", residual),
                o.nativeHandle())));
    }

    /** An output shape from a native shape query (at most 16 dims), failures in the call's words. */
    private interface ShapeQuery {
        int query(LongPointer shape, IntPointer ndim);
    }

    private static long[] shapeOf(Call c, ShapeQuery q) {
        try (LongPointer shape = new LongPointer(16); IntPointer ndim = new IntPointer(1)) {
            c.check(q.query(shape, ndim));
            long[] out = new long[ndim.get()];
            shape.get(out);
            return out;
        }
    }

    /**
     * The gradients of {@code linear(x, weight, bias)} (no activation): of x (gradOut @ weight), of
     * weight (gradOut^T @ x over every row) and, when withBias, of bias (gradOut summed over rows).
     */
    public static LinearGrads linearBackward(Tensor x, Tensor weight, Tensor gradOut, boolean withBias) {
        return linearBackward(new Call("F.linearBackward"), x, weight, gradOut, withBias);
    }

    private static LinearGrads linearBackward(Call c, Tensor x, Tensor weight, Tensor gradOut, boolean withBias) {
        Tensor in = c.tensor("x", x), w = c.tensor("weight", weight), g = c.tensor("gradOut", gradOut);
        checkLinearGradOut(c, in, w, g);
        long k = in.shape(in.ndim() - 1), n = w.shape(0);
        long rows = k == 0 ? 0 : in.numel() / k;
        try (Scope outputs = Scope.open(); Tensor g2 = g.view(rows, n); Tensor x2 = in.view(rows, k)) {
            Tensor gx = matmul(c, g, w, false, false);
            Tensor gw = matmul(c, g2, x2, true, false);
            Tensor gb = null;
            if (withBias) {
                try (Tensor ones = Tensor.full(1.0, in.dtype(), in.device(), 1, rows); Tensor s = matmul(c, ones, g2, false, false)) {
                    gb = s.reshape(n);
                }
            }
            return new LinearGrads(outputs.keep(gx), outputs.keep(gw), outputs.keep(gb));
        }
    }

    /**
     * The gradients of {@code linear(x, weight, bias, act, residual)}, i.e. of act(x @ weight^T + bias)
     * (+ residual, whose gradient is gradOut itself): the pre-activation is recomputed by the product
     * without bias, the activation's backward takes it with the bias and gives the gradient of the
     * pre-activation and (summed over rows) of the bias, and the product's gradients follow from it.
     * act and bias may be null; the bias gradient is null without a bias.
     */
    public static LinearGrads linearBackward(Tensor x, Tensor weight, Tensor bias, Act act, Tensor gradOut) {
        Call c = new Call("F.linearBackward");
        if (act == null) return linearBackward(c, x, weight, gradOut, bias != null);
        Tensor in = c.tensor("x", x), w = c.tensor("weight", weight), g = c.tensor("gradOut", gradOut);
        if (bias != null) c.tensor("bias", bias);
        checkLinearGradOut(c, in, w, g);
        try (Scope outputs = Scope.open(); Tensor pre = linear(c, x, weight, null, null, null)) {
            Tensor gradPre, gb = null;
            if (bias != null) {
                ActivationGrads ag = activationBackward(act, pre, bias, gradOut);
                gradPre = ag.input();
                gb = ag.bias();
            } else {
                gradPre = activationBackward(act, pre, gradOut);
            }
            LinearGrads lg = linearBackward(c, x, weight, gradPre, false);
            return new LinearGrads(outputs.keep(lg.input()), outputs.keep(lg.weight()), outputs.keep(gb));
        }
    }

    /**
     * The gradients of {@code matmul(a, b, transA, transB)}, shaped like a and b: for C = op(a) op(b),
     * d op(a) = dC op(b)^T and d op(b) = op(a)^T dC per batch, as products with transposed operands
     * (no copy). An operand broadcast along batch dims gets its gradient summed over them (torch's
     * semantics); a vector operand gets a vector gradient.
     */
    public static MatmulGrads matmulBackward(Tensor a, Tensor b, Tensor gradOut, boolean transA, boolean transB) {
        Call c = new Call("F.matmulBackward");
        Tensor ta = c.tensor("a", a), tb = c.tensor("b", b), g = c.tensor("gradOut", gradOut);
        long[] expected = shapeOf(c, (shape, ndim) -> dk_matmul_output_shape(c.context(), ta.nativeHandle(),
                tb.nativeHandle(), transA ? 1 : 0, transB ? 1 : 0, shape, ndim));
        if (!Arrays.equals(g.shape(), expected)) throw c.invalid("gradOut",
                "expected the output's shape " + Arrays.toString(expected) + ", got " + Arrays.toString(g.shape()));
        long[] as = asMatrix(ta, true), bs = asMatrix(tb, false);
        boolean tA = transA && ta.ndim() > 1, tB = transB && tb.ndim() > 1;
        long[] out = matmulShape(as, bs, tA, tB);
        try (Scope outputs = Scope.open(); Tensor a2 = ta.view(as); Tensor b2 = tb.view(bs); Tensor g2 = g.view(out)) {
            Tensor ga, gb;
            try (Tensor full = tA ? matmul(c, b2, g2, tB, true) : matmul(c, g2, b2, false, !tB)) {
                ga = sumToShape(c, full, as, ta.shape());
            }
            if (batchNumel(bs) == 1 && batchNumel(as) == batchNumel(out) && !tA) {
                // b is shared by every batch and a is not: its gradient is one product over all rows of a
                long k = as[as.length - 1], n = out[out.length - 1], rows = batchNumel(out) * as[as.length - 2];
                try (Tensor af = a2.view(rows, k); Tensor gf = g2.view(rows, n);
                     Tensor prod = tB ? matmul(c, gf, af, true, false) : matmul(c, af, gf, true, false)) {
                    gb = prod.reshape(tb.shape());
                }
            } else {
                try (Tensor full = tB ? matmul(c, g2, a2, true, tA) : matmul(c, a2, g2, !tA, false)) {
                    gb = sumToShape(c, full, bs, tb.shape());
                }
            }
            return new MatmulGrads(outputs.keep(ga), outputs.keep(gb));
        }
    }

    /** The product inside a composed call: validated natively, failures in the caller's words. */
    private static Tensor matmul(Call c, Tensor a, Tensor b, boolean transA, boolean transB) {
        long[] out = shapeOf(c, (shape, ndim) -> dk_matmul_output_shape(c.context(), a.nativeHandle(), b.nativeHandle(),
                transA ? 1 : 0, transB ? 1 : 0, shape, ndim));
        return fresh(c.output(a.dtype(), out), o -> c.check(dk_matmul(c.context(), a.nativeHandle(), b.nativeHandle(),
                transA ? 1 : 0, transB ? 1 : 0, o.nativeHandle())));
    }

    /** gradOut of a linear layer is shaped like its output: x's shape with out_features last. */
    private static void checkLinearGradOut(Call c, Tensor x, Tensor w, Tensor g) {
        long[] expected = shapeOf(c, (shape, ndim) -> dk_linear_output_shape(c.context(), x.nativeHandle(), w.nativeHandle(),
                shape, ndim));
        if (!Arrays.equals(g.shape(), expected)) throw c.invalid("gradOut",
                "expected the output's shape " + Arrays.toString(expected) + ", got " + Arrays.toString(g.shape()));
    }

    /** The operand's shape as a matrix: a vector [K] as [1, K] (the first operand) or [K, 1]. */
    private static long[] asMatrix(Tensor t, boolean first) {
        long[] s = t.shape();
        return s.length > 1 ? s : first ? new long[] {1, s[0]} : new long[] {s[0], 1};
    }

    private static long batchNumel(long[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 2; i++) n *= shape[i];
        return n;
    }

    /**
     * full [batch..., r, c] summed over the batch dims where target [tbatch..., r, c] has extent 1 or
     * none (it broadcast there), returned in the shape {@code as} (same element count as target).
     * Each run of such dims between kept ones is one product with a ones vector over a view:
     * [P, R, Q] -> ones [1, R] @ [P, R, Q] = [P, 1, Q]. The result is a new tensor (or view of full).
     */
    private static Tensor sumToShape(Call c, Tensor full, long[] target, long[] as) {
        long[] s = full.shape();
        int q = s.length - 2, lead = s.length - target.length;
        try (Scope temps = Scope.open()) {
            Tensor cur = full;
            for (int i = 0; i < q; ) {
                if (i >= lead && target[i - lead] != 1 || s[i] == 1) {
                    i++;
                    continue;
                }
                int j = i;
                long p = 1, r = 1, rest = 1;
                while (j < q && (j < lead || target[j - lead] == 1)) r *= s[j++];
                for (int d = 0; d < i; d++) p *= s[d];
                for (int d = j; d < s.length; d++) rest *= s[d];
                for (int d = i; d < j; d++) s[d] = 1;
                // ones as the row [1, R] keeps the product's N = rest; past the GPU grid's N the column form
                Tensor v = cur.view(p, r, rest);
                cur = (rest <= 65535L * 64 ? matmul(c, Tensor.full(1.0, full.dtype(), full.device(), 1, r), v, false, false)
                        : matmul(c, v, Tensor.full(1.0, full.dtype(), full.device(), r, 1), true, false)).view(s);
                i = j;
            }
            return temps.keep(cur.view(as));
        }
    }

    /** The product's shape for operands already validated (their matrix forms a and b). */
    private static long[] matmulShape(long[] a, long[] b, boolean transA, boolean transB) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r - 2; i++) {
            int ia = i - (r - a.length), ib = i - (r - b.length);
            long da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
            out[i] = da == 1 ? db : da;
        }
        out[r - 2] = transA ? a[a.length - 1] : a[a.length - 2];
        out[r - 1] = transB ? b[b.length - 2] : b[b.length - 1];
        return out;
    }

    // ---- diffusion sampling ----

    /**
     * One fused sampler step (see {@link StepCoefs} for the formula): reads x, model and the
     * optional uncond / extra1 / extra2 (null for none), writes out (which may be x itself) and,
     * when given, out2. All share x's shape and dtype. Returns out.
     */
    public static Tensor diffusionStep(StepCoefs coefs, Tensor x, Tensor model, Tensor uncond, Tensor extra1,
                                       Tensor extra2, Tensor out, Tensor out2) {
        Call c = new Call("F.diffusionStep");
        c.required("coefs", coefs, "step coefficients");
        c.tensor("x", x);
        try (org.deepkern.bindings.dk_step_coefs n = coefs.toNative()) {
            c.check(dk_diffusion_step(c.context(), n, c.in("x", x), c.in("model", model), c.optional("uncond", uncond),
                    c.optional("extra1", extra1), c.optional("extra2", extra2), c.in("out", out), c.optional("out2", out2)));
        }
        return out;
    }

    /**
     * The exact denoiser of an isotropic Gaussian mixture sum_k w_k N(mu_k, dataStd^2 I), noised as
     * x_t = a x0 + b eps: E[x0 | x_t] for each row of x [N, D]. means [K, D] and logWeights [K]
     * (unnormalized log w_k) are f32, as is x.
     */
    public static Tensor gmmPosteriorMean(Tensor x, Tensor means, Tensor logWeights, double dataStd, double a, double b) {
        Call c = new Call("F.gmmPosteriorMean");
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), out -> c.check(dk_gmm_posterior_mean(c.context(), c.in("x", x),
                c.in("means", means), c.in("logWeights", logWeights), (float) dataStd, (float) a, (float) b,
                out.nativeHandle())));
    }

    // ---- 2-D convolution ----
    // NCHW: x [N, C, H, W], w [K, C/groups, R, S]; NHWC: x [N, H, W, C], w [K, R, S, C/groups] (see Conv2dParams).

    /** torch.nn.functional.conv2d: act(conv(x, w) + bias), bias null for none, act from params (none by default). */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params) {
        return conv2d(x, w, bias, null, params);
    }

    /** The fused form: act(conv(x, w) + bias) + residual, residual shaped like the output (null for none). */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams params) {
        Call c = new Call("F.conv2d");
        Tensor in = c.tensor("x", x), wt = c.tensor("w", w);
        long[] outShape;
        try (var np = convParams(c, params).toNative()) {
            outShape = convShape(c, (shape) -> dk_conv2d_output_shape(c.context(), np, in.nativeHandle(), wt.nativeHandle(), shape));
        }
        return fresh(c.output(in.dtype(), outShape), out -> conv2d(c, x, w, bias, residual, params, out));
    }

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams params, Tensor out) {
        return conv2d(new Call("F.conv2d"), x, w, bias, residual, params, out);
    }

    private static Tensor conv2d(Call c, Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams params,
                                 Tensor out) {
        c.tensor("x", x);
        try (var np = convParams(c, params).toNative()) {
            c.check(dk_conv2d_forward(c.context(), np, c.in("x", x), c.in("w", w), c.optional("bias", bias),
                    c.optional("residual", residual), c.in("out", out)));
        }
        return out;
    }

    /**
     * Which kernel {@link #conv2d} runs for these x and w: on cpu "direct_depthwise" (groups == C == K)
     * or "im2col_gemm"; on cuda / emu the first that applies of "gemm_1x1" (NHWC, groups 1, 1x1,
     * stride 1, no padding), "depthwise" (groups == C), "implicit_gemm_mma" (tensor cores: bf16 /
     * f16, NHWC, C/groups a multiple of 8) and "implicit_gemm_fma".
     */
    public static String conv2dAlgorithm(Tensor x, Tensor w, Conv2dParams params) {
        Call c = new Call("F.conv2dAlgorithm");
        c.tensor("x", x);
        try (var np = convParams(c, params).toNative()) {
            org.bytedeco.javacpp.BytePointer name = new org.bytedeco.javacpp.BytePointer((org.bytedeco.javacpp.BytePointer) null);
            c.check(dk_conv2d_forward_algorithm(c.context(), np, c.in("x", x), c.in("w", w), name));
            return name.getString();
        }
    }

    /** The gradient of conv2d (without activation) with respect to its input of shape inputShape. */
    public static Tensor conv2dBackwardData(Tensor gradOut, Tensor w, long[] inputShape, Conv2dParams params) {
        Call c = new Call("F.conv2dBackwardData");
        Tensor g = c.tensor("gradOut", gradOut), wt = c.tensor("w", w);
        Conv2dParams p = convParams(c, params);
        try (var np = p.toNative(); Call.Described input = c.describe("inputShape", g.dtype(), inputShape)) {
            convGivesGradOut(c, np, input.handle(), wt.nativeHandle(), g, "x", "inputShape", Arrays.toString(inputShape));
        }
        return fresh(c.output(g.dtype(), inputShape), gradX -> conv2dBackwardData(c, gradOut, w, p, gradX));
    }

    /** The gradients of conv2d (without activation) with respect to its weight and, if withBias, its bias. */
    public static Conv2dWeightGrads conv2dBackwardWeight(Tensor x, Tensor gradOut, long[] weightShape, boolean withBias,
                                                         Conv2dParams params) {
        Call c = new Call("F.conv2dBackwardWeight");
        Tensor in = c.tensor("x", x), g = c.tensor("gradOut", gradOut);
        Conv2dParams p = convParams(c, params);
        try (var np = p.toNative(); Call.Described filters = c.describe("weightShape", in.dtype(), weightShape)) {
            convGivesGradOut(c, np, in.nativeHandle(), filters.handle(), g, "w", "weightShape",
                    "'x' with " + Arrays.toString(weightShape));
        }
        try (Scope outputs = Scope.open()) {
            Tensor gradW = c.output(in.dtype(), weightShape);
            Tensor gradB = withBias ? c.output(in.dtype(), weightShape[0]) : null;
            conv2dBackwardWeight(c, x, gradOut, p, gradW, gradB);
            return new Conv2dWeightGrads(outputs.keep(gradW), outputs.keep(gradB));
        }
    }

    /** The data gradient into a given gradX (its shape gives H and W); returns gradX. */
    public static Tensor conv2dBackwardData(Tensor gradOut, Tensor w, Conv2dParams params, Tensor gradX) {
        return conv2dBackwardData(new Call("F.conv2dBackwardData"), gradOut, w, params, gradX);
    }

    private static Tensor conv2dBackwardData(Call c, Tensor gradOut, Tensor w, Conv2dParams params, Tensor gradX) {
        c.tensor("gradOut", gradOut);
        try (var np = convParams(c, params).toNative()) {
            c.check(dk_conv2d_backward_data(c.context(), np, c.in("gradOut", gradOut), c.in("w", w), c.in("gradX", gradX)));
        }
        return gradX;
    }

    /** The weight gradient into gradW and, when gradBias is not null, the bias gradient into it. */
    public static void conv2dBackwardWeight(Tensor x, Tensor gradOut, Conv2dParams params, Tensor gradW, Tensor gradBias) {
        conv2dBackwardWeight(new Call("F.conv2dBackwardWeight"), x, gradOut, params, gradW, gradBias);
    }

    private static void conv2dBackwardWeight(Call c, Tensor x, Tensor gradOut, Conv2dParams params, Tensor gradW,
                                             Tensor gradBias) {
        c.tensor("x", x);
        try (var np = convParams(c, params).toNative()) {
            c.check(dk_conv2d_backward_weight(c.context(), np, c.in("x", x), c.in("gradOut", gradOut), c.in("gradW", gradW),
                    c.optional("gradBias", gradBias)));
        }
    }

    /** convTranspose2d into a given out; returns out. */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params, Tensor out) {
        return convTranspose2d(new Call("F.convTranspose2d"), x, w, bias, params, out);
    }

    private static Tensor convTranspose2d(Call c, Tensor x, Tensor w, Tensor bias, Conv2dParams params, Tensor out) {
        c.tensor("x", x);
        try (var np = convParams(c, params).toNative()) {
            c.check(dk_conv_transpose2d_forward(c.context(), np, c.in("x", x), c.in("w", w), c.optional("bias", bias),
                    c.in("out", out)));
        }
        return out;
    }

    /**
     * torch.nn.functional.conv_transpose2d: act(convT(x, w) + bias); NCHW w [Cin, Cout/groups, R, S], NHWC
     * w [Cin, R, S, Cout/groups]; output padding from params.
     */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params) {
        Call c = new Call("F.convTranspose2d");
        Tensor in = c.tensor("x", x), wt = c.tensor("w", w);
        long[] outShape;
        try (var np = convParams(c, params).toNative()) {
            outShape = convShape(c, (shape) -> dk_conv_transpose2d_output_shape(c.context(), np, in.nativeHandle(),
                    wt.nativeHandle(), shape));
        }
        return fresh(c.output(in.dtype(), outShape), out -> convTranspose2d(c, x, w, bias, params, out));
    }

    /** The 4 extents a native conv shape query gives (renames as {@link Call#check(int, String...)}). */
    private interface ConvShapeQuery {
        int query(LongPointer shape);
    }

    private static long[] convShape(Call c, ConvShapeQuery q, String... renames) {
        try (LongPointer shape = new LongPointer(4)) {
            c.check(q.query(shape), renames);
            long[] out = new long[4];
            shape.get(out);
            return out;
        }
    }

    /**
     * A gradient's shape argument, checked before its output is allocated: the convolution of image
     * through filters (one of them described from that argument, native name nativeName) must give
     * gradOut's shape.
     */
    private static void convGivesGradOut(Call c, org.deepkern.bindings.dk_conv2d_params np,
                                         org.deepkern.bindings.dk_tensor image, org.deepkern.bindings.dk_tensor filters,
                                         Tensor gradOut, String nativeName, String argument, String what) {
        long[] out = convShape(c, shape -> dk_conv2d_output_shape(c.context(), np, image, filters, shape), nativeName, argument);
        if (!Arrays.equals(out, gradOut.shape())) throw c.invalid(argument, "the convolution of " + what + " gives "
                + Arrays.toString(out) + ", but 'gradOut' is " + Arrays.toString(gradOut.shape()));
    }

    private static Conv2dParams convParams(Call c, Conv2dParams p) {
        return c.required("params", p, "convolution parameters");
    }

    // ---- scaled dot-product attention ----
    // q [B, Hq, Lq, D], k and v [B, Hkv, Lk, D], Hkv dividing Hq (GQA / MQA), D in {32, 64, 96, 128, 256}.

    /** torch.nn.functional.scaled_dot_product_attention(q, k, v): softmax(q k^T / sqrt(D)) v. */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v) {
        return scaledDotProductAttention(q, k, v, false);
    }

    /** As torch's with is_causal: query row i sees keys j <= i (top-left aligned). */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, boolean isCausal) {
        AttentionParams p = AttentionParams.defaults().withCausal(isCausal ? CausalMask.TOP_LEFT : CausalMask.NONE);
        AttentionResult r = scaledDotProductAttention(q, k, v, p);
        r.logsumexp().close();
        return r.out();
    }

    /**
     * The forward with every option: out [B, Hq, Lq, D] in q's dtype and the f32 logsumexp [B, Hq, Lq]
     * the backward needs. A row with no allowed key gets out = 0 and logsumexp = -inf.
     */
    public static AttentionResult scaledDotProductAttention(Tensor q, Tensor k, Tensor v, AttentionParams p) {
        Call c = new Call("F.scaledDotProductAttention");
        AttentionParams params = c.required("params", p, "attention parameters");
        Tensor tq = c.tensor("q", q);
        try (Scope outputs = Scope.open(); var np = attentionNative(c, params)) {
            Tensor out = c.output(tq.dtype(), tq.shape());
            Tensor lse = c.output(DType.F32, rowsShape(tq.shape()));
            c.check(dk_attention_forward(c.context(), np, tq.nativeHandle(), c.in("k", k), c.in("v", v),
                    c.optional("keyLengths", params.keyLengths()), c.optional("bias", params.bias()), out.nativeHandle(),
                    lse.nativeHandle()));
            return new AttentionResult(outputs.keep(out), outputs.keep(lse));
        }
    }

    /**
     * The gradients of q, k and v for the output gradient gradOut, from the forward's out and logsumexp
     * (the probabilities are recomputed, never stored). p must be the forward's.
     */
    public static AttentionGrads scaledDotProductAttentionBackward(Tensor q, Tensor k, Tensor v, AttentionResult forward,
                                                                   Tensor gradOut, AttentionParams p) {
        Call c = new Call("F.scaledDotProductAttentionBackward");
        AttentionParams params = c.required("params", p, "attention parameters");
        c.required("forward", forward, "the forward's result");
        Tensor tq = c.tensor("q", q), tk = c.tensor("k", k), tv = c.tensor("v", v);
        try (Scope outputs = Scope.open(); var np = attentionNative(c, params)) {
            Tensor gq = c.output(tq.dtype(), tq.shape());
            Tensor gk = c.output(tk.dtype(), tk.shape());
            Tensor gv = c.output(tv.dtype(), tv.shape());
            c.check(dk_attention_backward(c.context(), np, tq.nativeHandle(), tk.nativeHandle(), tv.nativeHandle(),
                    c.optional("keyLengths", params.keyLengths()), c.optional("bias", params.bias()),
                    c.in("forward.out", forward.out()), c.in("forward.logsumexp", forward.logsumexp()),
                    c.in("gradOut", gradOut), gq.nativeHandle(), gk.nativeHandle(), gv.nativeHandle()),
                    "out", "forward.out", "logsumexp", "forward.logsumexp");
            return new AttentionGrads(outputs.keep(gq), outputs.keep(gk), outputs.keep(gv));
        }
    }

    private static org.deepkern.bindings.dk_attention_params attentionNative(Call c, AttentionParams p) {
        CausalMask causal = c.required("params.causal", p.causal(), "a causal mask (NONE for none)");
        return new org.deepkern.bindings.dk_attention_params().scale(p.scale()).causal(causal.ordinal());
    }

    /** [B, H, L] of a [B, H, L, D] shape; any other rank is left for the native validation to report. */
    private static long[] rowsShape(long[] s) {
        return s.length == 0 ? s : Arrays.copyOf(s, s.length - 1);
    }

    // ---- argument checks and plumbing shared by every op ----

    private static org.deepkern.bindings.dk_activation descriptor(Call c, Act act) {
        return c.required("act", act, "an activation").handle();
    }

    private static long[] halfShape(Call c, Tensor x) {
        long[] s = x.shape();
        if (s.length == 0 || s[s.length - 1] % 2 != 0) throw c.invalid("x",
                "expected an even last dim (2H = [up | gate]), got shape " + Arrays.toString(s));
        s[s.length - 1] /= 2;
        return s;
    }

    /** Runs op on a freshly made output; closes the output if the op fails. */
    private static Tensor fresh(Tensor out, Consumer<Tensor> op) {
        try {
            op.accept(out);
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }
}
