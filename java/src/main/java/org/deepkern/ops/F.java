package org.deepkern.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Native.check;

import java.util.Arrays;
import java.util.function.Consumer;
import org.deepkern.DeepKernException;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_tensor;

/**
 * The functional ops, named after {@code torch.nn.functional}. Each runs on the device of its
 * first tensor argument; every tensor argument must be on that device. Forms taking {@code out}
 * write into it (it may be the input itself for element-wise ops) and return it.
 */
public final class F {
    private F() {}

    // ---- activations: out = act(x + bias) ----

    /** act(x), any activation. */
    public static Tensor activation(Act act, Tensor x) {
        return activation(act, x, null);
    }

    /** act(x + bias), bias broadcast over the last dim of x (null for none). */
    public static Tensor activation(Act act, Tensor x, Tensor bias) {
        Tensor in = arg("F.activation", "x", x);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()), out -> activation(act, x, bias, out));
    }

    public static Tensor activation(Act act, Tensor x, Tensor bias, Tensor out) {
        final String op = "F.activation";
        check(dk_activation_forward(context(op, x), descriptor(op, act), handle(op, "x", x), optional(op, "bias", bias),
                handle(op, "out", out)));
        return out;
    }

    /** The gradient of act(x) given the output's gradient; recomputes act from x. */
    public static Tensor activationBackward(Act act, Tensor x, Tensor gradOut) {
        Tensor in = arg("F.activationBackward", "x", x);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()),
                gradIn -> check(dk_activation_backward(context("F.activationBackward", x),
                        descriptor("F.activationBackward", act), handle("F.activationBackward", "x", x), null,
                        handle("F.activationBackward", "gradOut", gradOut), gradIn.nativeHandle(), null)));
    }

    /** The gradients of act(x + bias): of x, and of bias summed over every dim but the last. */
    public static ActivationGrads activationBackward(Act act, Tensor x, Tensor bias, Tensor gradOut) {
        final String op = "F.activationBackward";
        Tensor in = arg(op, "x", x);
        Tensor b = arg(op, "bias", bias);
        try (Scope outputs = Scope.open()) {
            Tensor gradIn = Tensor.empty(in.dtype(), in.device(), in.shape());
            Tensor gradBias = Tensor.empty(b.dtype(), b.device(), b.shape());
            check(dk_activation_backward(context(op, x), descriptor(op, act), handle(op, "x", x), handle(op, "bias", bias),
                    handle(op, "gradOut", gradOut), gradIn.nativeHandle(), gradBias.nativeHandle()));
            return new ActivationGrads(outputs.keep(gradIn), outputs.keep(gradBias));
        }
    }

    public static Tensor threshold(Tensor x, double threshold, double value) {
        return activation(Act.threshold(threshold, value), x);
    }

    /** The perceptron's unit: 1 where x > theta, else 0. */
    public static Tensor step(Tensor x, double theta) {
        return activation(Act.step(theta), x);
    }

    public static Tensor relu(Tensor x) {
        return activation(Act.relu(), x);
    }

    public static Tensor leakyRelu(Tensor x, double negativeSlope) {
        return activation(Act.leakyRelu(negativeSlope), x);
    }

    public static Tensor elu(Tensor x, double alpha) {
        return activation(Act.elu(alpha), x);
    }

    public static Tensor selu(Tensor x) {
        return activation(Act.selu(), x);
    }

    public static Tensor celu(Tensor x, double alpha) {
        return activation(Act.celu(alpha), x);
    }

    public static Tensor sigmoid(Tensor x) {
        return activation(Act.sigmoid(), x);
    }

    public static Tensor tanh(Tensor x) {
        return activation(Act.tanh(), x);
    }

    public static Tensor hardtanh(Tensor x, double minVal, double maxVal) {
        return activation(Act.hardtanh(minVal, maxVal), x);
    }

    public static Tensor hardsigmoid(Tensor x) {
        return activation(Act.hardsigmoid(), x);
    }

    public static Tensor hardswish(Tensor x) {
        return activation(Act.hardswish(), x);
    }

    public static Tensor softplus(Tensor x, double beta, double threshold) {
        return activation(Act.softplus(beta, threshold), x);
    }

    /** silu, also called swish: x sigmoid(x). */
    public static Tensor silu(Tensor x) {
        return activation(Act.silu(), x);
    }

    public static Tensor mish(Tensor x) {
        return activation(Act.mish(), x);
    }

    /** GELU, exact form: x Phi(x). */
    public static Tensor gelu(Tensor x) {
        return gelu(x, GeluApproximation.NONE);
    }

    public static Tensor gelu(Tensor x, GeluApproximation approximate) {
        return activation(geluAct(approximate), x);
    }

    public static Tensor gelu(Tensor x, GeluApproximation approximate, Tensor out) {
        return activation(geluAct(approximate), x, null, out);
    }

    /** x sigmoid(1.702 x). */
    public static Tensor quickGelu(Tensor x) {
        return activation(Act.quickGelu(), x);
    }

    // ---- gated linear units: up * act(gate) ----
    // Split forms take x [..., 2H] = [up | gate] along the last dim, as torch.nn.functional.glu.

    /** up * gate(gate) for same-shaped gate and up; gate is sigmoid, silu, gelu or relu. */
    public static Tensor gated(Act gate, Tensor gateInput, Tensor up) {
        final String op = "F.gated";
        Tensor g = arg(op, "gate", gateInput);
        return fresh(Tensor.empty(g.dtype(), g.device(), g.shape()), out -> check(dk_gated_forward(context(op, gateInput),
                descriptor(op, gate), handle(op, "gate", gateInput), handle(op, "up", up), out.nativeHandle())));
    }

    /** The split form: x [..., 2H] = [up | gate] gives [..., H]. */
    public static Tensor gated(Act gate, Tensor x) {
        final String op = "F.gated";
        Tensor in = arg(op, "x", x);
        long[] half = halfShape(op, in);
        return fresh(Tensor.empty(in.dtype(), in.device(), half), out -> check(dk_gated_split_forward(context(op, x),
                descriptor(op, gate), handle(op, "x", x), out.nativeHandle())));
    }

    public static GatedGrads gatedBackward(Act gate, Tensor gateInput, Tensor up, Tensor gradOut) {
        final String op = "F.gatedBackward";
        Tensor g = arg(op, "gate", gateInput);
        try (Scope outputs = Scope.open()) {
            Tensor gradGate = Tensor.empty(g.dtype(), g.device(), g.shape());
            Tensor gradUp = Tensor.empty(g.dtype(), g.device(), g.shape());
            check(dk_gated_backward(context(op, gateInput), descriptor(op, gate), handle(op, "gate", gateInput),
                    handle(op, "up", up), handle(op, "gradOut", gradOut), gradGate.nativeHandle(), gradUp.nativeHandle()));
            return new GatedGrads(outputs.keep(gradGate), outputs.keep(gradUp));
        }
    }

    /** The gradient of the split form, shaped like x. */
    public static Tensor gatedBackward(Act gate, Tensor x, Tensor gradOut) {
        final String op = "F.gatedBackward";
        Tensor in = arg(op, "x", x);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()), gradX -> check(dk_gated_split_backward(
                context(op, x), descriptor(op, gate), handle(op, "x", x), handle(op, "gradOut", gradOut),
                gradX.nativeHandle())));
    }

    /** torch glu: first half * sigmoid(second half). */
    public static Tensor glu(Tensor x) {
        return gated(Act.sigmoid(), x);
    }

    public static Tensor glu(Tensor gate, Tensor up) {
        return gated(Act.sigmoid(), gate, up);
    }

    /** up * silu(gate). */
    public static Tensor swiglu(Tensor x) {
        return gated(Act.silu(), x);
    }

    public static Tensor swiglu(Tensor gate, Tensor up) {
        return gated(Act.silu(), gate, up);
    }

    /** up * gelu(gate). */
    public static Tensor geglu(Tensor x, GeluApproximation approximate) {
        return gated(geluAct(approximate), x);
    }

    public static Tensor geglu(Tensor gate, Tensor up, GeluApproximation approximate) {
        return gated(geluAct(approximate), gate, up);
    }

    /** up * relu(gate). */
    public static Tensor reglu(Tensor x) {
        return gated(Act.relu(), x);
    }

    public static Tensor reglu(Tensor gate, Tensor up) {
        return gated(Act.relu(), gate, up);
    }

    // ---- softmax and normalization over the last dim ----

    /** softmax over the last dim (statistics in f32). */
    public static Tensor softmax(Tensor x) {
        return softmax("F.softmax", x, false);
    }

    /** log_softmax over the last dim. */
    public static Tensor logSoftmax(Tensor x) {
        return softmax("F.logSoftmax", x, true);
    }

    /** The gradient of softmax from its output y: y (gradOut - sum(gradOut y)) per row. */
    public static Tensor softmaxBackward(Tensor y, Tensor gradOut) {
        return softmaxBackward("F.softmaxBackward", y, gradOut, false);
    }

    /** The gradient of log_softmax from its output y: gradOut - exp(y) sum(gradOut) per row. */
    public static Tensor logSoftmaxBackward(Tensor y, Tensor gradOut) {
        return softmaxBackward("F.logSoftmaxBackward", y, gradOut, true);
    }

    private static Tensor softmax(String op, Tensor x, boolean log) {
        Tensor in = arg(op, "x", x);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()),
                out -> check(dk_softmax_forward(context(op, x), in.nativeHandle(), log ? 1 : 0, out.nativeHandle())));
    }

    private static Tensor softmaxBackward(String op, Tensor y, Tensor gradOut, boolean log) {
        Tensor in = arg(op, "y", y);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()), gradX -> check(dk_softmax_backward(
                in.nativeContext(), in.nativeHandle(), handle(op, "gradOut", gradOut), log ? 1 : 0,
                gradX.nativeHandle())));
    }

    /**
     * layer_norm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias, var biased;
     * weight and bias [C] may be null (1 and 0).
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        final String op = "F.layerNorm";
        Tensor in = arg(op, "x", x);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()), out -> check(dk_layer_norm_forward(
                in.nativeContext(), in.nativeHandle(), optional(op, "weight", weight), optional(op, "bias", bias),
                (float) eps, out.nativeHandle())));
    }

    /**
     * The gradients of layer_norm: of x, of weight (null when weight is null) and of bias (when
     * withBias), the last two summed over every dim but the last.
     */
    public static NormGrads layerNormBackward(Tensor x, Tensor weight, Tensor gradOut, double eps, boolean withBias) {
        return normBackward("F.layerNormBackward", x, weight, gradOut, eps, withBias, false);
    }

    /** rms_norm over the last dim: x / sqrt(mean(x^2) + eps) * weight; weight [C] may be null. */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        final String op = "F.rmsNorm";
        Tensor in = arg(op, "x", x);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()), out -> check(dk_rms_norm_forward(
                in.nativeContext(), in.nativeHandle(), optional(op, "weight", weight), (float) eps, out.nativeHandle())));
    }

    /** The gradients of rms_norm: of x, and of weight (null when weight is null). */
    public static NormGrads rmsNormBackward(Tensor x, Tensor weight, Tensor gradOut, double eps) {
        return normBackward("F.rmsNormBackward", x, weight, gradOut, eps, false, true);
    }

    private static NormGrads normBackward(String op, Tensor x, Tensor weight, Tensor gradOut, double eps, boolean withBias,
                                          boolean rms) {
        Tensor in = arg(op, "x", x);
        long[] s = in.shape();
        long[] param = {s.length == 0 ? 1 : s[s.length - 1]};
        try (Scope outputs = Scope.open()) {
            Tensor gradX = Tensor.empty(in.dtype(), in.device(), s);
            Tensor gradW = weight == null ? null : Tensor.empty(in.dtype(), in.device(), param);
            Tensor gradB = withBias ? Tensor.empty(in.dtype(), in.device(), param) : null;
            dk_tensor w = optional(op, "weight", weight), g = handle(op, "gradOut", gradOut);
            dk_tensor gw = gradW == null ? null : gradW.nativeHandle(), gb = gradB == null ? null : gradB.nativeHandle();
            check(rms ? dk_rms_norm_backward(in.nativeContext(), in.nativeHandle(), w, g, (float) eps, gradX.nativeHandle(), gw)
                    : dk_layer_norm_backward(in.nativeContext(), in.nativeHandle(), w, g, (float) eps, gradX.nativeHandle(), gw, gb));
            return new NormGrads(outputs.keep(gradX), outputs.keep(gradW), outputs.keep(gradB));
        }
    }

    // ---- rotary position embedding ----

    /**
     * Rotary position embedding of x [B, H, L, D] (D even): position p = l + positionOffset turns
     * pair i by p * base^(-2i/D), pairs as the layout says.
     */
    public static Tensor rotaryEmbedding(Tensor x, RopeLayout layout, double base, long positionOffset) {
        return rope("F.rotaryEmbedding", "x", x, layout, base, positionOffset, false);
    }

    /** The gradient of {@link #rotaryEmbedding}: the same turn by -theta applied to gradOut. */
    public static Tensor rotaryEmbeddingBackward(Tensor gradOut, RopeLayout layout, double base, long positionOffset) {
        return rope("F.rotaryEmbeddingBackward", "gradOut", gradOut, layout, base, positionOffset, true);
    }

    private static Tensor rope(String op, String name, Tensor x, RopeLayout layout, double base, long offset,
                               boolean backward) {
        Tensor in = arg(op, name, x);
        if (layout == null)
            throw DeepKernException.invalidArgument(op, "layout", "expected HALF_SPLIT or INTERLEAVED, got null");
        int code = layout == RopeLayout.HALF_SPLIT ? DK_ROPE_HALF_SPLIT : DK_ROPE_INTERLEAVED;
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()), out -> check(backward
                ? dk_rope_backward(in.nativeContext(), in.nativeHandle(), code, (float) base, offset, out.nativeHandle())
                : dk_rope_forward(in.nativeContext(), in.nativeHandle(), code, (float) base, offset, out.nativeHandle())));
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
        final String op = "F.matmul";
        Tensor ta = arg(op, "a", a), tb = arg(op, "b", b);
        long[] out = dropVectorDims(ta, tb, matmulShape(op, asMatrix(op, "a", ta, true), asMatrix(op, "b", tb, false),
                transA && ta.ndim() > 1, transB && tb.ndim() > 1));
        return fresh(Tensor.empty(ta.dtype(), ta.device(), out), o -> check(dk_matmul(ta.nativeContext(), ta.nativeHandle(),
                tb.nativeHandle(), transA ? 1 : 0, transB ? 1 : 0, o.nativeHandle())));
    }

    /** x @ weight^T + bias (torch.nn.functional.linear); weight [out, in], bias [out] or null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return linear(x, weight, bias, null, null);
    }

    /** act(x @ weight^T + bias) + residual in one pass; act, bias and residual may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual) {
        final String op = "F.linear";
        Tensor in = arg(op, "x", x), w = arg(op, "weight", weight);
        long[] s = in.shape();
        if (s.length == 0) throw DeepKernException.invalidArgument(op, "x", "expected at least 1 dimension, got a scalar");
        if (w.ndim() != 2) throw DeepKernException.invalidArgument(op, "weight",
                "expected [out_features, in_features], got " + Arrays.toString(w.shape()));
        s[s.length - 1] = w.shape(0);
        return fresh(Tensor.empty(in.dtype(), in.device(), s), o -> check(dk_linear(in.nativeContext(), in.nativeHandle(),
                w.nativeHandle(), optional(op, "bias", bias), act == null ? null : act.handle(), optional(op, "residual", residual),
                o.nativeHandle())));
    }

    /**
     * The gradients of {@code linear(x, weight, bias)} (no activation): of x (gradOut @ weight), of
     * weight (gradOut^T @ x over every row) and, when withBias, of bias (gradOut summed over rows).
     */
    public static LinearGrads linearBackward(Tensor x, Tensor weight, Tensor gradOut, boolean withBias) {
        final String op = "F.linearBackward";
        Tensor in = arg(op, "x", x), w = arg(op, "weight", weight), g = arg(op, "gradOut", gradOut);
        checkLinearGradOut(op, in, w, g);
        long k = in.shape(in.ndim() - 1), n = w.shape(0);
        long rows = k == 0 ? 0 : in.numel() / k;
        try (Scope outputs = Scope.open(); Tensor g2 = g.view(rows, n); Tensor x2 = in.view(rows, k)) {
            Tensor gx = matmul(g, w);
            Tensor gw = matmul(g2, x2, true, false);
            Tensor gb = null;
            if (withBias) {
                try (Tensor ones = Tensor.full(1.0, in.dtype(), in.device(), 1, rows); Tensor s = matmul(ones, g2)) {
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
        if (act == null && bias == null) return linearBackward(x, weight, gradOut, false);
        if (act == null) return linearBackward(x, weight, gradOut, true);
        final String op = "F.linearBackward";
        checkLinearGradOut(op, arg(op, "x", x), arg(op, "weight", weight), arg(op, "gradOut", gradOut));
        try (Scope outputs = Scope.open(); Tensor pre = linear(x, weight, null)) {
            Tensor gradPre, gb = null;
            if (bias != null) {
                ActivationGrads ag = activationBackward(act, pre, bias, gradOut);
                gradPre = ag.input();
                gb = ag.bias();
            } else {
                gradPre = activationBackward(act, pre, arg(op, "gradOut", gradOut));
            }
            LinearGrads lg = linearBackward(x, weight, gradPre, false);
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
        final String op = "F.matmulBackward";
        Tensor ta = arg(op, "a", a), tb = arg(op, "b", b), g = arg(op, "gradOut", gradOut);
        long[] as = asMatrix(op, "a", ta, true), bs = asMatrix(op, "b", tb, false);
        boolean tA = transA && ta.ndim() > 1, tB = transB && tb.ndim() > 1;
        long[] out = matmulShape(op, as, bs, tA, tB);
        long[] expected = dropVectorDims(ta, tb, out);
        if (!Arrays.equals(g.shape(), expected)) throw DeepKernException.invalidArgument(op, "gradOut",
                "expected the output's shape " + Arrays.toString(expected) + ", got " + Arrays.toString(g.shape()));
        try (Scope outputs = Scope.open(); Tensor a2 = ta.view(as); Tensor b2 = tb.view(bs); Tensor g2 = g.view(out)) {
            Tensor ga, gb;
            try (Tensor full = tA ? matmul(b2, g2, tB, true) : matmul(g2, b2, false, !tB)) {
                ga = sumToShape(full, as, ta.shape());
            }
            if (batchNumel(bs) == 1 && batchNumel(as) == batchNumel(out) && !tA) {
                // b is shared by every batch and a is not: its gradient is one product over all rows of a
                long k = as[as.length - 1], n = out[out.length - 1], rows = batchNumel(out) * as[as.length - 2];
                try (Tensor af = a2.view(rows, k); Tensor gf = g2.view(rows, n);
                     Tensor prod = tB ? matmul(gf, af, true, false) : matmul(af, gf, true, false)) {
                    gb = prod.reshape(tb.shape());
                }
            } else {
                try (Tensor full = tB ? matmul(g2, a2, true, tA) : matmul(a2, g2, !tA, false)) {
                    gb = sumToShape(full, bs, tb.shape());
                }
            }
            return new MatmulGrads(outputs.keep(ga), outputs.keep(gb));
        }
    }

    /** gradOut of a linear layer is shaped like its output: x's shape with out_features last. */
    private static void checkLinearGradOut(String op, Tensor x, Tensor w, Tensor g) {
        if (x.ndim() == 0) throw DeepKernException.invalidArgument(op, "x", "expected at least 1 dimension, got a scalar");
        if (w.ndim() != 2) throw DeepKernException.invalidArgument(op, "weight",
                "expected [out_features, in_features], got " + Arrays.toString(w.shape()));
        long[] expected = x.shape();
        expected[expected.length - 1] = w.shape(0);
        if (!Arrays.equals(g.shape(), expected)) throw DeepKernException.invalidArgument(op, "gradOut",
                "expected the output's shape " + Arrays.toString(expected) + ", got " + Arrays.toString(g.shape()));
    }

    /** The operand's shape as a matrix: a vector [K] as [1, K] (the first operand) or [K, 1]. */
    private static long[] asMatrix(String op, String name, Tensor t, boolean first) {
        long[] s = t.shape();
        if (s.length == 0) throw DeepKernException.invalidArgument(op, name,
                "expected a vector [K] or a matrix [..., rows, cols], got a scalar");
        return s.length > 1 ? s : first ? new long[] {1, s[0]} : new long[] {s[0], 1};
    }

    /** The shape of a product of matrices with the rows (a vector a) or columns (a vector b) of 1 dropped. */
    private static long[] dropVectorDims(Tensor a, Tensor b, long[] out) {
        int r = out.length;
        if (a.ndim() == 1 && b.ndim() == 1) return Arrays.copyOf(out, r - 2);
        if (b.ndim() == 1) return Arrays.copyOf(out, r - 1);
        if (a.ndim() == 1) {
            long[] s = Arrays.copyOf(out, r - 1);
            s[r - 2] = out[r - 1];
            return s;
        }
        return out;
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
    private static Tensor sumToShape(Tensor full, long[] target, long[] as) {
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
                cur = (rest <= 65535L * 64 ? matmul(Tensor.full(1.0, full.dtype(), full.device(), 1, r), v)
                        : matmul(v, Tensor.full(1.0, full.dtype(), full.device(), r, 1), true, false)).view(s);
                i = j;
            }
            return temps.keep(cur.view(as));
        }
    }

    private static long[] matmulShape(String op, long[] a, long[] b, boolean transA, boolean transB) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r - 2; i++) {
            int ia = i - (r - a.length), ib = i - (r - b.length);
            long da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
            if (da != db && da != 1 && db != 1) throw DeepKernException.invalidArgument(op, "b", "batch dims of 'a' "
                    + Arrays.toString(a) + " and 'b' " + Arrays.toString(b) + " do not broadcast");
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
        final String op = "F.diffusionStep";
        if (coefs == null) throw DeepKernException.invalidArgument(op, "coefs", "expected step coefficients, got null");
        try (org.deepkern.bindings.dk_step_coefs c = coefs.toNative()) {
            check(dk_diffusion_step(context(op, x), c, handle(op, "x", x), handle(op, "model", model),
                    optional(op, "uncond", uncond), optional(op, "extra1", extra1), optional(op, "extra2", extra2),
                    handle(op, "out", out), optional(op, "out2", out2)));
        }
        return out;
    }

    /**
     * The exact denoiser of an isotropic Gaussian mixture sum_k w_k N(mu_k, dataStd^2 I), noised as
     * x_t = a x0 + b eps: E[x0 | x_t] for each row of x [N, D]. means [K, D] and logWeights [K]
     * (unnormalized log w_k) are f32, as is x.
     */
    public static Tensor gmmPosteriorMean(Tensor x, Tensor means, Tensor logWeights, double dataStd, double a, double b) {
        final String op = "F.gmmPosteriorMean";
        Tensor in = arg(op, "x", x);
        return fresh(Tensor.empty(in.dtype(), in.device(), in.shape()), out -> check(dk_gmm_posterior_mean(context(op, x),
                handle(op, "x", x), handle(op, "means", means), handle(op, "logWeights", logWeights), (float) dataStd,
                (float) a, (float) b, out.nativeHandle())));
    }

    // ---- 2-D convolution ----
    // NCHW: x [N, C, H, W], w [K, C/groups, R, S]; NHWC: x [N, H, W, C], w [K, R, S, C/groups] (see Conv2dParams).

    /** torch.nn.functional.conv2d: act(conv(x, w) + bias), bias null for none, act from params (none by default). */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params) {
        return conv2d(x, w, bias, null, params);
    }

    /** The fused form: act(conv(x, w) + bias) + residual, residual shaped like the output (null for none). */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams params) {
        final String op = "F.conv2d";
        Conv2dParams p = convParams(op, params);
        Tensor in = arg(op, "x", x);
        Tensor wt = arg(op, "w", w);
        long[] outShape = convOutShape(p, in.shape(), wt.shape());
        return fresh(Tensor.empty(in.dtype(), in.device(), outShape), out -> conv2d(x, w, bias, residual, p, out));
    }

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams params, Tensor out) {
        final String op = "F.conv2d";
        Conv2dParams p = convParams(op, params);
        try (org.deepkern.bindings.dk_conv2d_params np = p.toNative()) {
            check(dk_conv2d_forward(context(op, x), np, handle(op, "x", x), handle(op, "w", w), optional(op, "bias", bias),
                    optional(op, "residual", residual), handle(op, "out", out)));
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
        final String op = "F.conv2dAlgorithm";
        Conv2dParams p = convParams(op, params);
        try (org.deepkern.bindings.dk_conv2d_params np = p.toNative()) {
            org.bytedeco.javacpp.BytePointer name = new org.bytedeco.javacpp.BytePointer((org.bytedeco.javacpp.BytePointer) null);
            check(dk_conv2d_forward_algorithm(context(op, x), np, handle(op, "x", x), handle(op, "w", w), name));
            return name.getString();
        }
    }

    /** The gradient of conv2d (without activation) with respect to its input of shape inputShape. */
    public static Tensor conv2dBackwardData(Tensor gradOut, Tensor w, long[] inputShape, Conv2dParams params) {
        final String op = "F.conv2dBackwardData";
        Conv2dParams p = convParams(op, params);
        Tensor g = arg(op, "gradOut", gradOut);
        arg(op, "w", w);
        if (inputShape == null) throw DeepKernException.invalidArgument(op, "inputShape", "expected a shape, got null");
        return fresh(Tensor.empty(g.dtype(), g.device(), inputShape), gradX -> {
            try (org.deepkern.bindings.dk_conv2d_params np = p.toNative()) {
                check(dk_conv2d_backward_data(context(op, gradOut), np, handle(op, "gradOut", gradOut), handle(op, "w", w),
                        gradX.nativeHandle()));
            }
        });
    }

    /** The gradients of conv2d (without activation) with respect to its weight and, if withBias, its bias. */
    public static Conv2dWeightGrads conv2dBackwardWeight(Tensor x, Tensor gradOut, long[] weightShape, boolean withBias,
                                                         Conv2dParams params) {
        final String op = "F.conv2dBackwardWeight";
        Conv2dParams p = convParams(op, params);
        Tensor in = arg(op, "x", x);
        arg(op, "gradOut", gradOut);
        if (weightShape == null) throw DeepKernException.invalidArgument(op, "weightShape", "expected a shape, got null");
        try (Scope outputs = Scope.open()) {
            Tensor gradW = Tensor.empty(in.dtype(), in.device(), weightShape);
            Tensor gradB = withBias ? Tensor.empty(in.dtype(), in.device(), weightShape.length > 0 ? weightShape[0] : 0) : null;
            try (org.deepkern.bindings.dk_conv2d_params np = p.toNative()) {
                check(dk_conv2d_backward_weight(context(op, x), np, handle(op, "x", x), handle(op, "gradOut", gradOut),
                        gradW.nativeHandle(), gradB == null ? null : gradB.nativeHandle()));
            }
            return new Conv2dWeightGrads(outputs.keep(gradW), outputs.keep(gradB));
        }
    }

    /** The data gradient into a given gradX (its shape gives H and W); returns gradX. */
    public static Tensor conv2dBackwardData(Tensor gradOut, Tensor w, Conv2dParams params, Tensor gradX) {
        final String op = "F.conv2dBackwardData";
        Conv2dParams p = convParams(op, params);
        try (org.deepkern.bindings.dk_conv2d_params np = p.toNative()) {
            check(dk_conv2d_backward_data(context(op, gradOut), np, handle(op, "gradOut", gradOut), handle(op, "w", w),
                    handle(op, "gradX", gradX)));
        }
        return gradX;
    }

    /** The weight gradient into gradW and, when gradBias is not null, the bias gradient into it. */
    public static void conv2dBackwardWeight(Tensor x, Tensor gradOut, Conv2dParams params, Tensor gradW, Tensor gradBias) {
        final String op = "F.conv2dBackwardWeight";
        Conv2dParams p = convParams(op, params);
        try (org.deepkern.bindings.dk_conv2d_params np = p.toNative()) {
            check(dk_conv2d_backward_weight(context(op, x), np, handle(op, "x", x), handle(op, "gradOut", gradOut),
                    handle(op, "gradW", gradW), optional(op, "gradBias", gradBias)));
        }
    }

    /** convTranspose2d into a given out; returns out. */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params, Tensor out) {
        final String op = "F.convTranspose2d";
        Conv2dParams p = convParams(op, params);
        try (org.deepkern.bindings.dk_conv2d_params np = p.toNative()) {
            check(dk_conv_transpose2d_forward(context(op, x), np, handle(op, "x", x), handle(op, "w", w),
                    optional(op, "bias", bias), handle(op, "out", out)));
        }
        return out;
    }

    /**
     * torch.nn.functional.conv_transpose2d: act(convT(x, w) + bias); NCHW w [Cin, Cout/groups, R, S], NHWC
     * w [Cin, R, S, Cout/groups]; output padding from params.
     */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params) {
        final String op = "F.convTranspose2d";
        Conv2dParams p = convParams(op, params);
        Tensor in = arg(op, "x", x);
        Tensor wt = arg(op, "w", w);
        long[] outShape = convTransposeOutShape(p, in.shape(), wt.shape());
        return fresh(Tensor.empty(in.dtype(), in.device(), outShape), out -> convTranspose2d(x, w, bias, p, out));
    }

    /** The output shape of conv2d for these shapes, in the params' layout (0 where a size would be below 1). */
    public static long[] convOutShape(Conv2dParams p, long[] x, long[] w) {
        if (x.length != 4 || w.length != 4) return new long[] {0};
        boolean nhwc = p.nhwc();
        long n = x[0], h = nhwc ? x[1] : x[2], wd = nhwc ? x[2] : x[3];
        long k = w[0], r = nhwc ? w[1] : w[2], s = nhwc ? w[2] : w[3];
        long ph = Math.max(0, Math.floorDiv(h + p.padTop() + p.padBottom() - (long) p.dilationH() * (r - 1) - 1,
                Math.max(1, p.strideH())) + 1);
        long pw = Math.max(0, Math.floorDiv(wd + p.padLeft() + p.padRight() - (long) p.dilationW() * (s - 1) - 1,
                Math.max(1, p.strideW())) + 1);
        return nhwc ? new long[] {n, ph, pw, k} : new long[] {n, k, ph, pw};
    }

    /** The output shape of convTranspose2d for these shapes, in the params' layout. */
    public static long[] convTransposeOutShape(Conv2dParams p, long[] x, long[] w) {
        if (x.length != 4 || w.length != 4) return new long[] {0};
        boolean nhwc = p.nhwc();
        long n = x[0], h = nhwc ? x[1] : x[2], wd = nhwc ? x[2] : x[3];
        long cg = nhwc ? w[3] : w[1], r = nhwc ? w[1] : w[2], s = nhwc ? w[2] : w[3];
        long ho = Math.max(0, (h - 1) * p.strideH() - p.padTop() - p.padBottom() + (long) p.dilationH() * (r - 1)
                + p.outputPaddingH() + 1);
        long wo = Math.max(0, (wd - 1) * p.strideW() - p.padLeft() - p.padRight() + (long) p.dilationW() * (s - 1)
                + p.outputPaddingW() + 1);
        long cout = cg * Math.max(1, p.groups());
        return nhwc ? new long[] {n, ho, wo, cout} : new long[] {n, cout, ho, wo};
    }

    private static Conv2dParams convParams(String op, Conv2dParams p) {
        if (p == null) throw DeepKernException.invalidArgument(op, "params", "expected convolution parameters, got null");
        return p;
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
        final String op = "F.scaledDotProductAttention";
        AttentionParams params = attentionParams(op, p);
        Tensor tq = arg(op, "q", q);
        try (Scope outputs = Scope.open(); org.deepkern.bindings.dk_attention_params np = attentionNative(params)) {
            Tensor out = Tensor.empty(tq.dtype(), tq.device(), tq.shape());
            Tensor lse = Tensor.empty(org.deepkern.DType.F32, tq.device(), rowsShape(tq.shape()));
            check(dk_attention_forward(tq.nativeContext(), np, tq.nativeHandle(), handle(op, "k", k), handle(op, "v", v),
                    optional(op, "keyLengths", params.keyLengths()), optional(op, "bias", params.bias()), out.nativeHandle(),
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
        final String op = "F.scaledDotProductAttentionBackward";
        AttentionParams params = attentionParams(op, p);
        if (forward == null) throw DeepKernException.invalidArgument(op, "forward", "expected the forward's result, got null");
        Tensor tq = arg(op, "q", q), tk = arg(op, "k", k), tv = arg(op, "v", v);
        try (Scope outputs = Scope.open(); org.deepkern.bindings.dk_attention_params np = attentionNative(params)) {
            Tensor gq = Tensor.empty(tq.dtype(), tq.device(), tq.shape());
            Tensor gk = Tensor.empty(tk.dtype(), tk.device(), tk.shape());
            Tensor gv = Tensor.empty(tv.dtype(), tv.device(), tv.shape());
            check(dk_attention_backward(tq.nativeContext(), np, tq.nativeHandle(), tk.nativeHandle(), tv.nativeHandle(),
                    optional(op, "keyLengths", params.keyLengths()), optional(op, "bias", params.bias()),
                    handle(op, "forward.out", forward.out()), handle(op, "forward.logsumexp", forward.logsumexp()),
                    handle(op, "gradOut", gradOut), gq.nativeHandle(), gk.nativeHandle(), gv.nativeHandle()));
            return new AttentionGrads(outputs.keep(gq), outputs.keep(gk), outputs.keep(gv));
        }
    }

    private static AttentionParams attentionParams(String op, AttentionParams p) {
        if (p == null) throw DeepKernException.invalidArgument(op, "params", "expected attention parameters, got null");
        return p;
    }

    private static org.deepkern.bindings.dk_attention_params attentionNative(AttentionParams p) {
        CausalMask c = p.causal() == null ? CausalMask.NONE : p.causal();
        return new org.deepkern.bindings.dk_attention_params().scale(p.scale()).causal(c.ordinal());
    }

    /** [B, H, L] of a [B, H, L, D] shape; any other rank is left for the native validation to report. */
    private static long[] rowsShape(long[] s) {
        return s.length == 0 ? s : Arrays.copyOf(s, s.length - 1);
    }

    // ---- argument checks and plumbing shared by every op ----

    private static Act geluAct(GeluApproximation approximate) {
        if (approximate == null) throw DeepKernException.invalidArgument("F.gelu", "approximate", "expected NONE or TANH, got null");
        return Act.gelu(approximate);
    }

    private static org.deepkern.bindings.dk_activation descriptor(String op, Act act) {
        if (act == null) throw DeepKernException.invalidArgument(op, "act", "expected an activation, got null");
        return act.handle();
    }

    private static Tensor arg(String op, String name, Tensor t) {
        if (t == null) throw DeepKernException.invalidArgument(op, name, "expected a tensor, got null");
        if (t.isClosed()) throw DeepKernException.invalidArgument(op, name, "tensor is closed");
        return t;
    }

    private static dk_tensor handle(String op, String name, Tensor t) {
        return arg(op, name, t).nativeHandle();
    }

    private static dk_tensor optional(String op, String name, Tensor t) {
        return t == null ? null : handle(op, name, t);
    }

    private static org.deepkern.bindings.dk_context context(String op, Tensor first) {
        return arg(op, "x", first).nativeContext();
    }

    private static long[] halfShape(String op, Tensor x) {
        long[] s = x.shape();
        if (s.length == 0 || s[s.length - 1] % 2 != 0) throw DeepKernException.invalidArgument(op, "x",
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
