package org.deepkern.testing;

import org.deepkern.testing.GeluChecks;
import org.deepkern.ops.Act;
import org.deepkern.ops.GeluApproximation;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.deepkern.DType;
import org.deepkern.testing.Reference;

/**
 * One activation under test: its Act, an independent double reference of its value and derivative
 * (written from the definitions in the torch.nn.functional docs, with torch's value of the
 * derivative at a kink), and the points where its formula switches. The table {@link #ALL} drives
 * every activation test.
 *
 * @param kinks where the derivative (or the value) jumps: finite differences keep away from them
 * @param specials switch points fed to every test as inputs, with neighbours on both sides
 */
public record ActivationCase(String name, Act act, DoubleUnaryOperator f, DoubleUnaryOperator df, double[] kinks,
                      double[] specials) {

    @Override
    public String toString() {
        return name;
    }

    // ---- the table ----

    public static final double SELU_ALPHA = 1.6732632423543772848170429916717;
    public static final double SELU_SCALE = 1.0507009873554804934193349852946;
    public static final double QUICK = 1.702;

    public static final List<ActivationCase> ALL = List.of(
            threshold(0.5, -2), step(0.25), relu(), leakyRelu(0.01), elu(1.0), selu(), celu(0.75),
            smooth("sigmoid", Act.sigmoid(), ActivationCase::sigmoid, x -> sigmoid(x) * sigmoid(-x)),
            smooth("tanh", Act.tanh(), Math::tanh, x -> 1 / (Math.cosh(x) * Math.cosh(x))),
            hardtanh(-1, 1), hardtanh(-0.5, 2), hardsigmoid(), hardswish(), softplus(1, 20), softplus(2, 10),
            smooth("silu", Act.silu(), x -> x * sigmoid(x), x -> sigmoid(x) * (1 + x * sigmoid(-x))),
            smooth("mish", Act.mish(), ActivationCase::mish, ActivationCase::mishGrad),
            smooth("gelu", Act.gelu(), Reference::gelu,
                    x -> Reference.phi(x) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI)),
            smooth("gelu_tanh", Act.gelu(GeluApproximation.TANH), Reference::geluTanh, ActivationCase::geluTanhGrad),
            smooth("quick_gelu", Act.quickGelu(), x -> x * sigmoid(QUICK * x),
                    x -> sigmoid(QUICK * x) * (1 + QUICK * x * sigmoid(-QUICK * x))));

    /** The gate activations of glu, swiglu, geglu (both forms) and reglu. */
    public static List<ActivationCase> gates() {
        return ALL.stream().filter(c -> switch (c.act.kind()) {
            case SIGMOID, SILU, GELU, GELU_TANH, RELU -> true;
            default -> false;
        }).toList();
    }

    public static ActivationCase named(String name) {
        return ALL.stream().filter(c -> c.name.equals(name)).findFirst().orElseThrow();
    }

    // Parameters are taken as the float the Act holds, so the reference sees the same numbers.

    private static ActivationCase threshold(double threshold, double value) {
        Act act = Act.threshold(threshold, value);
        double t = act.alpha(), v = act.beta();
        return new ActivationCase("threshold(" + threshold + "," + value + ")", act, x -> x > t ? x : v,
                x -> x > t ? 1 : 0, new double[] {t}, new double[] {t});
    }

    private static ActivationCase step(double theta) {
        Act act = Act.step(theta);
        double t = act.alpha();
        return new ActivationCase("step(" + theta + ")", act, x -> x > t ? 1 : 0, x -> 0, new double[] {t},
                new double[] {t});
    }

    private static ActivationCase relu() {
        return new ActivationCase("relu", Act.relu(), x -> x > 0 ? x : 0, x -> x > 0 ? 1 : 0, new double[] {0},
                new double[] {0});
    }

    private static ActivationCase leakyRelu(double slope) {
        Act act = Act.leakyRelu(slope);
        double s = act.alpha();
        return new ActivationCase("leaky_relu(" + slope + ")", act, x -> x > 0 ? x : s * x, x -> x > 0 ? 1 : s,
                new double[] {0}, new double[] {0});
    }

    /** scale (x if x > 0 else alpha (exp(x / width) - 1)): elu, selu, celu. torch takes the x <= 0 branch at 0. */
    private static ActivationCase expLinear(String name, Act act, double scale, double alpha, double width) {
        return new ActivationCase(name, act, x -> scale * (x > 0 ? x : alpha * Math.expm1(x / width)),
                x -> scale * (x > 0 ? 1 : alpha / width * Math.exp(x / width)), new double[] {0}, new double[] {0});
    }

    private static ActivationCase elu(double alpha) {
        Act act = Act.elu(alpha);
        return expLinear("elu(" + alpha + ")", act, 1, act.alpha(), 1);
    }

    private static ActivationCase selu() {
        return expLinear("selu", Act.selu(), SELU_SCALE, SELU_ALPHA, 1);
    }

    private static ActivationCase celu(double alpha) {
        Act act = Act.celu(alpha);
        return expLinear("celu(" + alpha + ")", act, 1, act.alpha(), act.alpha());
    }

    /** torch hardtanh: gradient 1 strictly inside (min, max), 0 at and beyond the bounds. */
    private static ActivationCase hardtanh(double min, double max) {
        Act act = Act.hardtanh(min, max);
        double lo = act.alpha(), hi = act.beta();
        return new ActivationCase("hardtanh(" + min + "," + max + ")", act, x -> Math.min(Math.max(x, lo), hi),
                x -> x > lo && x < hi ? 1 : 0, new double[] {lo, hi}, new double[] {lo, hi});
    }

    /** relu6(x + 3) / 6; torch's gradient is 1/6 strictly inside (-3, 3). */
    private static ActivationCase hardsigmoid() {
        return new ActivationCase("hardsigmoid", Act.hardsigmoid(), x -> Math.min(Math.max(x + 3, 0), 6) / 6,
                x -> x > -3 && x < 3 ? 1.0 / 6 : 0, new double[] {-3, 3}, new double[] {-3, 3});
    }

    /**
     * x relu6(x + 3) / 6; torch's gradient is x/3 + 1/2 strictly inside (-3, 3), 0 at and below -3,
     * 1 at and above 3 (torch 2.10 as the oracle test runs it; older releases used the closed range).
     */
    private static ActivationCase hardswish() {
        return new ActivationCase("hardswish", Act.hardswish(), x -> x * Math.min(Math.max(x + 3, 0), 6) / 6,
                x -> x <= -3 ? 0 : x < 3 ? x / 3 + 0.5 : 1, new double[] {-3, 3}, new double[] {-3, 0, 3});
    }

    /** log(1 + exp(beta x)) / beta, x itself where beta x > threshold (torch). */
    private static ActivationCase softplus(double beta, double threshold) {
        Act act = Act.softplus(beta, threshold);
        double b = act.alpha(), t = act.beta();
        return new ActivationCase("softplus(" + beta + "," + threshold + ")", act,
                x -> b * x > t ? x : softplus(b * x) / b, x -> b * x > t ? 1 : sigmoid(b * x),
                new double[] {t / b}, new double[] {t / b, 0});
    }

    private static ActivationCase smooth(String name, Act act, DoubleUnaryOperator f, DoubleUnaryOperator df) {
        return new ActivationCase(name, act, f, df, new double[0], new double[] {0});
    }

    // ---- double helpers, each in a form that keeps its relative accuracy in both tails ----

    public static double sigmoid(double x) {
        if (x >= 0) return 1 / (1 + Math.exp(-x));
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /** log(1 + e^x) without overflow. */
    public static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    /** sech^2 = 1 - tanh^2 without the cancellation. */
    public static double sech2(double x) {
        double c = Math.cosh(x);
        return 1 / (c * c);
    }

    public static double mish(double x) {
        return x * Math.tanh(softplus(x));
    }

    /** d/dx x tanh(sp(x)) = tanh(sp) + x sech^2(sp) sigmoid(x). */
    public static double mishGrad(double x) {
        double sp = softplus(x);
        return Math.tanh(sp) + x * sech2(sp) * sigmoid(x);
    }

    /**
     * gelu_tanh = x S, S = (1 + tanh u) / 2 = sigmoid(2u), u = sqrt(2/pi)(x + 0.044715 x^3):
     * derivative S + x (2 S (1 - S)) u', with 1 - S = sigmoid(-2u).
     */
    public static double geluTanhGrad(double x) {
        double c = Math.sqrt(2 / Math.PI), k = 0.044715;
        double u = c * (x + k * x * x * x), du = c * (1 + 3 * k * x * x);
        double s = sigmoid(2 * u);
        return s + 2 * x * s * sigmoid(-2 * u) * du;
    }

    // ---- inputs ----

    /** Each switch point, its float neighbours and points 1e-3 and 0.1 away on each side. */
    public float[] specialInputs() {
        float[] out = new float[7 * specials.length];
        int i = 0;
        for (double s : specials) {
            float f = (float) s;
            for (float v : new float[] {f, Math.nextUp(f), Math.nextDown(f), f + 1e-3f, f - 1e-3f, f + 0.1f, f - 0.1f})
                out[i++] = v;
        }
        return out;
    }

    /** Random inputs (GeluChecks.inputs: wide range, large magnitudes, signed zeros), switch points first. */
    public float[] inputs(int n, long seed, DType dtype) {
        float[] x = GeluChecks.inputs(n, seed, dtype);
        float[] sp = specialInputs();
        System.arraycopy(sp, 0, x, 0, Math.min(n, sp.length));
        return x;
    }

    /** N(0, 1) values for the gradient of the output and the other operand of a gated unit. */
    public static float[] normal(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }
}
