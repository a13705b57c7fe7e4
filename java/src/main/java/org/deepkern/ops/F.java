package org.deepkern.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Native.check;

import java.util.Arrays;
import java.util.function.Consumer;
import org.deepkern.DeepKernException;
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
        Tensor gradIn = Tensor.empty(in.dtype(), in.device(), in.shape());
        Tensor gradBias = null;
        try {
            gradBias = Tensor.empty(b.dtype(), b.device(), b.shape());
            check(dk_activation_backward(context(op, x), descriptor(op, act), handle(op, "x", x), handle(op, "bias", bias),
                    handle(op, "gradOut", gradOut), gradIn.nativeHandle(), gradBias.nativeHandle()));
            return new ActivationGrads(gradIn, gradBias);
        } catch (RuntimeException e) {
            gradIn.close();
            if (gradBias != null) gradBias.close();
            throw e;
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
        Tensor gradGate = Tensor.empty(g.dtype(), g.device(), g.shape());
        Tensor gradUp = null;
        try {
            gradUp = Tensor.empty(g.dtype(), g.device(), g.shape());
            check(dk_gated_backward(context(op, gateInput), descriptor(op, gate), handle(op, "gate", gateInput),
                    handle(op, "up", up), handle(op, "gradOut", gradOut), gradGate.nativeHandle(), gradUp.nativeHandle()));
            return new GatedGrads(gradGate, gradUp);
        } catch (RuntimeException e) {
            gradGate.close();
            if (gradUp != null) gradUp.close();
            throw e;
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
