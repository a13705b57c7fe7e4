package org.deepkern.ops;

import java.util.Objects;
import org.deepkern.DeepKernException;

/**
 * An activation function with its parameters, as torch.nn.functional names them; what
 * {@link F#activation}, the gated units, the fused epilogues ({@link Conv2dParams#withActivation})
 * and {@link org.deepkern.nn.Activation} apply. Immutable value; parameters are stored as f32 and
 * checked when the Act is made. Values and gradients follow torch, computed in f32.
 */
public final class Act {
    /**
     * The kinds, named as deepkern.h's {@code DK_ACTIVATIONS} list names them (the native code of
     * each is read from the generated constant of the same name).
     */
    public enum Kind {
        /** x if x &gt; threshold else value (torch threshold). */
        THRESHOLD,
        /** 1 if x &gt; theta else 0, with zero gradient. */
        STEP,
        /** max(x, 0) (torch relu). */
        RELU,
        /** x if x &gt; 0 else negativeSlope x (torch leaky_relu). */
        LEAKY_RELU,
        /** x if x &gt; 0 else alpha (exp(x) - 1) (torch elu). */
        ELU,
        /** scale (x if x &gt; 0 else alpha (exp(x) - 1)), scale 1.0507..., alpha 1.6733... (torch selu). */
        SELU,
        /** x if x &gt; 0 else alpha (exp(x / alpha) - 1) (torch celu). */
        CELU,
        /** 1 / (1 + exp(-x)) (torch sigmoid). */
        SIGMOID,
        /** tanh(x) (torch tanh). */
        TANH,
        /** x clamped to [minVal, maxVal] (torch hardtanh). */
        HARDTANH,
        /** clamp((x + 3) / 6, 0, 1) (torch hardsigmoid). */
        HARDSIGMOID,
        /** x hardsigmoid(x) (torch hardswish). */
        HARDSWISH,
        /** log(1 + exp(beta x)) / beta, x where beta x &gt; threshold (torch softplus). */
        SOFTPLUS,
        /** x sigmoid(x), also called swish (torch silu). */
        SILU,
        /** x tanh(softplus(x)) (torch mish). */
        MISH,
        /** x Phi(x), with the exact error function (torch gelu). */
        GELU,
        /** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (torch gelu with approximate="tanh"). */
        GELU_TANH,
        /** x sigmoid(1.702 x), a GELU approximation (Hugging Face's quick_gelu, as in CLIP). */
        QUICK_GELU
    }

    // the parameterless activations, made once
    private static final Act RELU = new Act(Kind.RELU, 0, 0), SELU = new Act(Kind.SELU, 0, 0),
            SIGMOID = new Act(Kind.SIGMOID, 0, 0), TANH = new Act(Kind.TANH, 0, 0),
            HARDSIGMOID = new Act(Kind.HARDSIGMOID, 0, 0), HARDSWISH = new Act(Kind.HARDSWISH, 0, 0),
            SILU = new Act(Kind.SILU, 0, 0), MISH = new Act(Kind.MISH, 0, 0), GELU = new Act(Kind.GELU, 0, 0),
            GELU_TANH = new Act(Kind.GELU_TANH, 0, 0), QUICK_GELU = new Act(Kind.QUICK_GELU, 0, 0);

    private final Kind kind;
    private final float alpha;
    private final float beta;

    private Act(Kind kind, double alpha, double beta) {
        this.kind = kind;
        this.alpha = (float) alpha;
        this.beta = (float) beta;
    }

    /**
     * torch threshold: x if x &gt; threshold else value.
     *
     * @param threshold the cut-off
     * @param value what x at or below the cut-off becomes
     * @return the activation
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if either is NaN
     */
    public static Act threshold(double threshold, double value) {
        return of("Act.threshold", Kind.THRESHOLD, threshold, value);
    }

    /**
     * The perceptron's unit: 1 if x &gt; theta else 0, with zero gradient.
     *
     * @param theta the cut-off
     * @return the activation
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if theta is NaN
     */
    public static Act step(double theta) {
        return of("Act.step", Kind.STEP, theta, 0);
    }

    /** @return relu, max(x, 0) */
    public static Act relu() {
        return RELU;
    }

    /**
     * torch leaky_relu: x if x &gt; 0 else negativeSlope x.
     *
     * @param negativeSlope the slope below 0 (torch's default 0.01)
     * @return the activation
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if it is NaN
     */
    public static Act leakyRelu(double negativeSlope) {
        return of("Act.leakyRelu", Kind.LEAKY_RELU, negativeSlope, 0);
    }

    /**
     * torch elu: x if x &gt; 0 else alpha (exp(x) - 1).
     *
     * @param alpha the scale of the negative side, which tends to -alpha (torch's default 1.0)
     * @return the activation
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if alpha is NaN
     */
    public static Act elu(double alpha) {
        return of("Act.elu", Kind.ELU, alpha, 0);
    }

    /** @return selu, torch's fixed-constant scaled ELU (Klambauer et al.) */
    public static Act selu() {
        return SELU;
    }

    /**
     * torch celu: x if x &gt; 0 else alpha (exp(x / alpha) - 1).
     *
     * @param alpha the scale of the negative side (torch's default 1.0); not 0 as an f32
     * @return the activation
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if alpha is NaN
     *         or 0
     */
    public static Act celu(double alpha) {
        return of("Act.celu", Kind.CELU, alpha, 0);
    }

    /** @return the logistic sigmoid, 1 / (1 + exp(-x)) */
    public static Act sigmoid() {
        return SIGMOID;
    }

    /** @return tanh */
    public static Act tanh() {
        return TANH;
    }

    /**
     * torch hardtanh: x clamped to [minVal, maxVal], with gradient 1 strictly inside.
     *
     * @param minVal the lower bound (torch's default -1)
     * @param maxVal the upper bound (torch's default 1)
     * @return the activation
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if either is NaN
     *         or minVal &gt; maxVal (as f32)
     */
    public static Act hardtanh(double minVal, double maxVal) {
        return of("Act.hardtanh", Kind.HARDTANH, minVal, maxVal);
    }

    /** @return hardsigmoid, clamp((x + 3) / 6, 0, 1) */
    public static Act hardsigmoid() {
        return HARDSIGMOID;
    }

    /** @return hardswish, x hardsigmoid(x) */
    public static Act hardswish() {
        return HARDSWISH;
    }

    /**
     * torch softplus: log(1 + exp(beta x)) / beta, and x where beta x &gt; threshold.
     *
     * @param beta the sharpness (torch's default 1); not 0 as an f32
     * @param threshold where the linear form takes over (torch's default 20)
     * @return the activation
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if either is NaN
     *         or beta is 0
     */
    public static Act softplus(double beta, double threshold) {
        return of("Act.softplus", Kind.SOFTPLUS, beta, threshold);
    }

    /** @return silu (swish), x sigmoid(x) */
    public static Act silu() {
        return SILU;
    }

    /** @return mish, x tanh(softplus(x)) */
    public static Act mish() {
        return MISH;
    }

    /** @return the exact GELU, x Phi(x) (torch gelu's default, approximate="none") */
    public static Act gelu() {
        return gelu(GeluApproximation.NONE);
    }

    /**
     * torch gelu(x, approximate=...).
     *
     * @param approximate NONE for the exact form, TANH for the tanh approximation
     * @return the activation ({@link Kind#GELU} or {@link Kind#GELU_TANH})
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if approximate is
     *         null
     */
    public static Act gelu(GeluApproximation approximate) {
        return gelu("Act.gelu", approximate);
    }

    /** @return quick GELU, x sigmoid(1.702 x) */
    public static Act quickGelu() {
        return QUICK_GELU;
    }

    /** GELU with the given approximation, checked as the public method op names it. */
    static Act gelu(String op, GeluApproximation approximate) {
        if (approximate == null) throw DeepKernException.invalidArgument(op, "approximate", "expected NONE or TANH, got null");
        return approximate == GeluApproximation.TANH ? GELU_TANH : GELU;
    }

    /**
     * An activation with parameters, checked in the words of the public method op (Act.leakyRelu,
     * F.leakyRelu ...) under torch's parameter names: no NaN, celu's alpha and softplus's beta not 0
     * (they divide by it), hardtanh's minVal not above maxVal. Parameters are stored as f32.
     */
    static Act of(String op, Kind kind, double alpha, double beta) {
        String[] names = switch (kind) {
            case THRESHOLD -> new String[] {"threshold", "value"};
            case STEP -> new String[] {"theta"};
            case LEAKY_RELU -> new String[] {"negativeSlope"};
            case ELU, CELU -> new String[] {"alpha"};
            case HARDTANH -> new String[] {"minVal", "maxVal"};
            case SOFTPLUS -> new String[] {"beta", "threshold"};
            default -> new String[0];
        };
        double[] values = {alpha, beta};
        for (int i = 0; i < names.length; i++)
            if (Double.isNaN(values[i])) throw DeepKernException.invalidArgument(op, names[i], "expected a number, got NaN");
        Act a = new Act(kind, alpha, beta);
        if ((kind == Kind.CELU || kind == Kind.SOFTPLUS) && a.alpha == 0f)
            throw DeepKernException.invalidArgument(op, names[0], "must not be 0 (as an f32), got " + alpha);
        if (kind == Kind.HARDTANH && a.alpha > a.beta)
            throw DeepKernException.invalidArgument(op, "minVal", "must not exceed maxVal (" + a.beta + "), got " + a.alpha);
        return a;
    }

    /** @return which function this is */
    public Kind kind() {
        return kind;
    }

    /**
     * @return the first parameter: threshold (THRESHOLD), theta (STEP), negativeSlope (LEAKY_RELU),
     *         alpha (ELU, CELU), minVal (HARDTANH) or beta (SOFTPLUS); 0 for the other kinds
     */
    public float alpha() {
        return alpha;
    }

    /**
     * @return the second parameter: value (THRESHOLD), maxVal (HARDTANH) or threshold (SOFTPLUS);
     *         0 for the other kinds
     */
    public float beta() {
        return beta;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Act a && a.kind == kind && Float.compare(a.alpha, alpha) == 0
                && Float.compare(a.beta, beta) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, alpha, beta);
    }

    /** @return the kind in lower case with its parameters, such as {@code leaky_relu(0.01)} */
    @Override
    public String toString() {
        return kind.name().toLowerCase() + switch (kind) {
            case THRESHOLD, HARDTANH, SOFTPLUS -> "(" + alpha + ", " + beta + ")";
            case STEP, LEAKY_RELU, ELU, CELU -> "(" + alpha + ")";
            default -> "";
        };
    }
}
