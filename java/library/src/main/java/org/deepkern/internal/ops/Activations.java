package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_activation;
import org.deepkern.bindings.global.deepkern;
import org.deepkern.internal.Call;
import org.deepkern.ops.Act;
import org.deepkern.ops.ActivationGrads;
import org.deepkern.ops.GatedGrads;

/**
 * Activations and gated linear units (kernels/activation): out = act(x + bias) and
 * out = up * act(gate), their backwards, and the native descriptor of an {@link Act}.
 * Not part of the public API.
 */
public final class Activations {
    private Activations() {}

    /** The native code of each kind, by ordinal: the generated DK_ACT_&lt;NAME&gt; constant of the same name. */
    private static final int[] CODES = Arrays.stream(Act.Kind.values()).mapToInt(Activations::generatedCode).toArray();

    private static int generatedCode(Act.Kind kind) {
        try {
            return deepkern.class.getField("DK_ACT_" + kind.name()).getInt(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("deepkern.h's DK_ACTIVATIONS has no " + kind.name(), e);
        }
    }

    /** The kind's code in deepkern.h's dk_activation_kind. */
    public static int code(Act.Kind kind) {
        return CODES[kind.ordinal()];
    }

    /**
     * Descriptors are immutable, so each distinct Act gets one; past this many distinct Acts (a
     * caller sweeping a parameter) the cache starts over rather than grow without bound.
     */
    private static final int CACHED = 256;
    private static final ConcurrentHashMap<Act, dk_activation> DESCRIPTORS = new ConcurrentHashMap<>();

    /** The native descriptor of the call's activation argument (named "act"), which must be given. */
    public static dk_activation descriptor(Call c, Act act) {
        c.required("act", act, "an activation");
        dk_activation d = DESCRIPTORS.get(act);
        if (d != null) return d;
        if (DESCRIPTORS.size() >= CACHED) DESCRIPTORS.clear();
        return DESCRIPTORS.computeIfAbsent(act,
                a -> new dk_activation().kind(code(a.kind())).alpha(a.alpha()).beta(a.beta()));
    }

    // ---- out = act(x + bias) ----

    public static Tensor forward(Call c, Act act, Tensor x, Tensor bias) {
        Tensor in = c.tensor("x", x);
        return Derivatives.activation(c, act, x, bias, fresh(c.output(in.dtype(), in.shape()), out -> forward(c, act, x, bias, out)));
    }

    public static Tensor forward(Call c, Act act, Tensor x, Tensor bias, Tensor out) {
        c.tensor("x", x);
        c.check(dk_activation_forward(c.context(), descriptor(c, act), c.in("x", x), c.optional("bias", bias),
                c.in("out", out)));
        return out;
    }

    public static Tensor backward(Call c, Act act, Tensor x, Tensor gradOut) {
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), gradIn -> backward(c, act, x, null, gradOut, gradIn, null));
    }

    public static ActivationGrads backward(Call c, Act act, Tensor x, Tensor bias, Tensor gradOut) {
        Tensor in = c.tensor("x", x);
        Tensor b = c.tensor("bias", bias);
        try (Scope outputs = Scope.open()) {
            Tensor gradIn = c.output(in.dtype(), in.shape());
            Tensor gradBias = c.output(b.dtype(), b.shape());
            backward(c, act, x, bias, gradOut, gradIn, gradBias);
            return new ActivationGrads(outputs.keep(gradIn), outputs.keep(gradBias));
        }
    }

    /** Into given gradients; gradBias (null for none) needs a bias. Returns gradIn. */
    public static Tensor backward(Call c, Act act, Tensor x, Tensor bias, Tensor gradOut, Tensor gradIn,
                                  Tensor gradBias) {
        c.tensor("x", x);
        c.check(dk_activation_backward(c.context(), descriptor(c, act), c.in("x", x), c.optional("bias", bias),
                c.in("gradOut", gradOut), c.in("gradIn", gradIn), c.optional("gradBias", gradBias)));
        return gradIn;
    }

    // ---- out = up * act(gate): same-shaped gate and up ----

    public static Tensor gated(Call c, Act act, Tensor gate, Tensor up) {
        Tensor g = c.tensor("gate", gate);
        return Derivatives.gated(c, act, gate, up, fresh(c.output(g.dtype(), g.shape()), out -> gated(c, act, gate, up, out)));
    }

    public static Tensor gated(Call c, Act act, Tensor gate, Tensor up, Tensor out) {
        c.tensor("gate", gate);
        c.check(dk_gated_forward(c.context(), descriptor(c, act), c.in("gate", gate), c.in("up", up), c.in("out", out)));
        return out;
    }

    public static GatedGrads gatedBackward(Call c, Act act, Tensor gate, Tensor up, Tensor gradOut) {
        Tensor g = c.tensor("gate", gate);
        try (Scope outputs = Scope.open()) {
            Tensor gradGate = c.output(g.dtype(), g.shape());
            Tensor gradUp = c.output(g.dtype(), g.shape());
            gatedBackward(c, act, gate, up, gradOut, gradGate, gradUp);
            return new GatedGrads(outputs.keep(gradGate), outputs.keep(gradUp));
        }
    }

    public static void gatedBackward(Call c, Act act, Tensor gate, Tensor up, Tensor gradOut, Tensor gradGate,
                                     Tensor gradUp) {
        c.tensor("gate", gate);
        c.check(dk_gated_backward(c.context(), descriptor(c, act), c.in("gate", gate), c.in("up", up),
                c.in("gradOut", gradOut), c.in("gradGate", gradGate), c.in("gradUp", gradUp)));
    }

    // ---- the split form: x [..., 2H] = [up | gate] gives [..., H] ----

    public static Tensor gatedSplit(Call c, Act act, Tensor x) {
        Tensor in = c.tensor("x", x);
        long[] half = c.shape((shape, ndim) -> dk_gated_split_output_shape(c.context(), handle(in), shape, ndim));
        return Derivatives.gatedSplit(c, act, x, fresh(c.output(in.dtype(), half), out -> gatedSplit(c, act, x, out)));
    }

    public static Tensor gatedSplit(Call c, Act act, Tensor x, Tensor out) {
        c.tensor("x", x);
        c.check(dk_gated_split_forward(c.context(), descriptor(c, act), c.in("x", x), c.in("out", out)));
        return out;
    }

    /** The split form's gradient, shaped like x. */
    public static Tensor gatedSplitBackward(Call c, Act act, Tensor x, Tensor gradOut) {
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), gradX -> gatedSplitBackward(c, act, x, gradOut, gradX));
    }

    public static Tensor gatedSplitBackward(Call c, Act act, Tensor x, Tensor gradOut, Tensor gradX) {
        c.tensor("x", x);
        c.check(dk_gated_split_backward(c.context(), descriptor(c, act), c.in("x", x), c.in("gradOut", gradOut),
                c.in("gradX", gradX)));
        return gradX;
    }
}
