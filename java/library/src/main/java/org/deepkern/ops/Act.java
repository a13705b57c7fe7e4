package org.deepkern.ops;

import java.util.Objects;
import org.deepkern.DeepKernException;

/**
 * An activation function with its parameters, as torch.nn.functional names them; what
 * {@link F#activation}, the gated units and {@link org.deepkern.nn.Activation} apply.
 */
public final class Act {
    /**
     * The kinds, named as deepkern.h's {@code DK_ACTIVATIONS} list names them (the native code of
     * each is read from the generated constant of the same name).
     */
    public enum Kind {
        THRESHOLD, STEP, RELU, LEAKY_RELU, ELU, SELU, CELU, SIGMOID, TANH, HARDTANH, HARDSIGMOID, HARDSWISH, SOFTPLUS,
        SILU, MISH, GELU, GELU_TANH, QUICK_GELU
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

    /** torch threshold: x if x > threshold else value. */
    public static Act threshold(double threshold, double value) {
        return of("Act.threshold", Kind.THRESHOLD, threshold, value);
    }

    /** The perceptron's unit: 1 if x > theta else 0, with zero gradient. */
    public static Act step(double theta) {
        return of("Act.step", Kind.STEP, theta, 0);
    }

    public static Act relu() {
        return RELU;
    }

    public static Act leakyRelu(double negativeSlope) {
        return of("Act.leakyRelu", Kind.LEAKY_RELU, negativeSlope, 0);
    }

    public static Act elu(double alpha) {
        return of("Act.elu", Kind.ELU, alpha, 0);
    }

    public static Act selu() {
        return SELU;
    }

    public static Act celu(double alpha) {
        return of("Act.celu", Kind.CELU, alpha, 0);
    }

    public static Act sigmoid() {
        return SIGMOID;
    }

    public static Act tanh() {
        return TANH;
    }

    public static Act hardtanh(double minVal, double maxVal) {
        return of("Act.hardtanh", Kind.HARDTANH, minVal, maxVal);
    }

    public static Act hardsigmoid() {
        return HARDSIGMOID;
    }

    public static Act hardswish() {
        return HARDSWISH;
    }

    /** log(1 + exp(beta x)) / beta, and x where beta x > threshold. */
    public static Act softplus(double beta, double threshold) {
        return of("Act.softplus", Kind.SOFTPLUS, beta, threshold);
    }

    public static Act silu() {
        return SILU;
    }

    public static Act mish() {
        return MISH;
    }

    public static Act gelu() {
        return gelu(GeluApproximation.NONE);
    }

    public static Act gelu(GeluApproximation approximate) {
        return gelu("Act.gelu", approximate);
    }

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

    public Kind kind() {
        return kind;
    }

    public float alpha() {
        return alpha;
    }

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

    @Override
    public String toString() {
        return kind.name().toLowerCase() + switch (kind) {
            case THRESHOLD, HARDTANH, SOFTPLUS -> "(" + alpha + ", " + beta + ")";
            case STEP, LEAKY_RELU, ELU, CELU -> "(" + alpha + ")";
            default -> "";
        };
    }
}
