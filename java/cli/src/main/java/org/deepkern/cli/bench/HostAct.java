package org.deepkern.cli.bench;

import org.deepkern.ops.Act;

/**
 * The activations the bench measures and their derivatives in double precision, written from
 * their definitions and independent of the native code: the correctness gate's host reference.
 */
final class HostAct {
    private HostAct() {}

    private static final double TANH_SCALE = Math.sqrt(2 / Math.PI);

    static double value(Act.Kind kind, double x) {
        return switch (kind) {
            case RELU -> x > 0 ? x : 0;
            case SILU -> x * sigmoid(x);
            case GELU -> x * phi(x);
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(TANH_SCALE * (x + 0.044715 * x * x * x)));
            default -> throw new IllegalArgumentException("no host reference for " + kind);
        };
    }

    /** d act(x) / dx; relu's is 0 at 0, as torch's threshold_backward. */
    static double derivative(Act.Kind kind, double x) {
        return switch (kind) {
            case RELU -> x > 0 ? 1 : 0;
            case SILU -> {
                double s = sigmoid(x);
                yield s * (1 + x * (1 - s));
            }
            case GELU -> phi(x) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
            case GELU_TANH -> {
                double t = Math.tanh(TANH_SCALE * (x + 0.044715 * x * x * x));
                yield 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * TANH_SCALE * (1 + 3 * 0.044715 * x * x);
            }
            default -> throw new IllegalArgumentException("no host reference for " + kind);
        };
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** The standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2. */
    static double phi(double x) {
        return 0.5 * erfc(-x / Math.sqrt(2));
    }

    /**
     * erfc by the Chebyshev fit of Numerical Recipes (erfcc): relative error below 1.2e-7
     * everywhere, ample for a gate at 1e-5 and independent of the native code.
     */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
