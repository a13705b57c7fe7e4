package org.deepkern.diffusion;

import java.util.Locale;
import org.deepkern.DeepKernException;

/**
 * What a model predicts about noised data x = a x0 + b eps (diffusers' prediction_type, plus the
 * rectified-flow velocity). Every conversion is linear, so it is a pair of coefficients:
 * <pre>
 *   EPSILON       m = eps                 x0 = (x - b m) / a             eps = m
 *   SAMPLE        m = x0                  x0 = m                         eps = (x - a m) / b
 *   V_PREDICTION  m = a eps - b x0        x0 = (a x - b m) / (a^2+b^2)   eps = (b x + a m) / (a^2+b^2)
 *   FLOW          m = eps - x0            x0 = (x - b m) / (a+b)         eps = (x + a m) / (a+b)
 * </pre>
 * (VP noising has a^2 + b^2 = 1, where V is Salimans and Ho's v; flow matching has a + b = 1.)
 * a and b are a {@link NoiseLevel}'s; each conversion divides by a, b or their sum, which must
 * not be 0 there (the result is infinite or NaN otherwise, with no exception).
 */
public enum Prediction {
    /** The noise eps (diffusers' "epsilon", the default). */
    EPSILON,
    /** The clean data x0 (diffusers' "sample"). */
    SAMPLE,
    /** The velocity v = a eps - b x0 (diffusers' "v_prediction"). */
    V_PREDICTION,
    /** The rectified-flow velocity eps - x0 (flow matching, as in Stable Diffusion 3). */
    FLOW;

    /**
     * The linear form x * x + other * (the other operand).
     *
     * @param x the factor of the noised sample x
     * @param other the factor of the other operand (the model output m, or x0 for {@link #fromX0})
     */
    public record Linear(double x, double other) {}

    /**
     * x0 from x and the model output m.
     *
     * @param a the signal scale of x
     * @param b the noise scale of x
     * @return x0 = x * x + other * m
     */
    public Linear x0(double a, double b) {
        return switch (this) {
            case EPSILON -> new Linear(1 / a, -b / a);
            case SAMPLE -> new Linear(0, 1);
            case V_PREDICTION -> new Linear(a / (a * a + b * b), -b / (a * a + b * b));
            case FLOW -> new Linear(1 / (a + b), -b / (a + b));
        };
    }

    /**
     * eps from x and the model output m.
     *
     * @param a the signal scale of x
     * @param b the noise scale of x
     * @return eps = x * x + other * m
     */
    public Linear eps(double a, double b) {
        return switch (this) {
            case EPSILON -> new Linear(0, 1);
            case SAMPLE -> new Linear(1 / b, -a / b);
            case V_PREDICTION -> new Linear(b / (a * a + b * b), a / (a * a + b * b));
            case FLOW -> new Linear(1 / (a + b), a / (a + b));
        };
    }

    /**
     * This prediction from x and x0 (what an exact denoiser returns): m = x * x + other * x0.
     *
     * @param a the signal scale of x
     * @param b the noise scale of x
     * @return the form of m
     */
    public Linear fromX0(double a, double b) {
        return switch (this) {
            case EPSILON -> new Linear(1 / b, -a / b);
            case SAMPLE -> new Linear(0, 1);
            case V_PREDICTION -> new Linear(a / b, -(a * a / b + b));
            case FLOW -> new Linear(1 / b, -(a / b + 1));
        };
    }

    /**
     * diffusers' names: epsilon, sample, v_prediction; and flow.
     *
     * @param name the name, in lower case
     * @return the prediction type
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} for any other name
     */
    public static Prediction parse(String name) {
        for (Prediction p : values()) if (p.name().toLowerCase(Locale.ROOT).equals(name)) return p;
        throw DeepKernException.invalidArgument("Prediction.parse", "name",
                "expected epsilon, sample, v_prediction or flow, got " + name);
    }
}
