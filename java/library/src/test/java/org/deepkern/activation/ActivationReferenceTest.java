package org.deepkern.activation;

import org.deepkern.testing.ActivationCase;
import org.deepkern.testing.ActivationChecks;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.DoubleStream;
import org.deepkern.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The double references themselves: derivatives against finite differences, values against known numbers. */
class ActivationReferenceTest {
    static Iterable<ActivationCase> cases() {
        return ActivationCase.ALL;
    }

    /**
     * Central differences (f(x + h) - f(x - h)) / 2h with h = 1e-5 / max(1, |x|): truncation error
     * ~h^2 |f'''/f'| relative, below 1e-9 even in gelu's tail where f'''/f' ~ x^2; rounding ~ulp(f) / h. Points closer than 10h to a kink are
     * skipped; points 1e-3 and 0.1 from every switch point are included.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void derivativeMatchesFiniteDifferences(ActivationCase c) {
        double[] grid = DoubleStream.iterate(-40, x -> x <= 40, x -> x + 0.173).toArray();
        double[] near = DoubleStream.of(c.specials()).flatMap(s -> DoubleStream.of(s - 0.1, s - 1e-3, s + 1e-3, s + 0.1)).toArray();
        int checked = 0;
        for (double x : DoubleStream.concat(DoubleStream.of(grid), DoubleStream.of(near)).toArray()) {
            double h = 1e-5 / Math.max(1, Math.abs(x));
            if (DoubleStream.of(c.kinks()).anyMatch(k -> Math.abs(x - k) < 10 * h)) continue;
            double fp = c.f().applyAsDouble(x + h), fm = c.f().applyAsDouble(x - h);
            double fd = (fp - fm) / (2 * h), df = c.df().applyAsDouble(x);
            double tol = 1e-7 * Math.abs(df) + 8 * Math.ulp(Math.abs(fp) + Math.abs(fm)) / h + 1e-300;
            assertEquals(df, fd, tol, c + " at x = " + x);
            checked++;
        }
        assertTrue(checked > 400, "checked " + checked);
    }

    /** Every reference value and derivative is a number over the inputs the tests draw. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void referencesAreFinite(ActivationCase c) {
        for (DType t : ActivationChecks.DTYPES)
            for (float x : c.inputs(4097, 1, t)) {
                assertTrue(Double.isFinite(c.f().applyAsDouble(x)), c + " at " + x);
                assertTrue(Double.isFinite(c.df().applyAsDouble(x)), c + " ' at " + x);
            }
    }

    /** Published values (closed forms evaluated independently) pin the references' definitions. */
    @Test
    void knownValues() {
        double e = Math.E;
        check("sigmoid", 1, 0.7310585786300049);                 // 1 / (1 + 1/e)
        check("tanh", 1, 0.7615941559557649);
        check("silu", 1, 0.7310585786300049);
        check("mish", 1, 0.8650983882673103);                     // tanh(ln(1 + e))
        check("gelu", 1, 0.8413447460685429);                     // Phi(1)
        check("gelu", -1, -0.15865525393145707);
        check("gelu_tanh", 1, 0.8411919906082768);
        check("quick_gelu", 1, 1 / (1 + Math.exp(-1.702)));
        check("selu", -1, 1.0507009873554805 * 1.6732632423543772 * (1 / e - 1));
        check("selu", 2, 2.101401974710961);
        check("elu(1.0)", -1, 1 / e - 1);
        check("celu(0.75)", -1.5, 0.75 * (Math.exp(-2) - 1));
        check("softplus(1.0,20.0)", 0, Math.log(2));
        check("softplus(2.0,10.0)", 1, Math.log(1 + e * e) / 2);
        check("softplus(2.0,10.0)", 6, 6);                        // beyond the threshold: x
        check("hardsigmoid", 1.5, 0.75);
        check("hardswish", 1.5, 1.125);
        check("hardswish", -4, 0);
        check("hardtanh(-0.5,2.0)", 3, 2);
        check("threshold(0.5,-2.0)", 0.5, -2);
        check("step(0.25)", 0.3, 1);
        check("leaky_relu(0.01)", -2, -2 * (double) 0.01f);
        // derivatives at kinks follow torch: elu takes the x <= 0 branch, hardswish the flat side
        assertEquals(1.0, ActivationCase.named("elu(1.0)").df().applyAsDouble(0));
        assertEquals(0.0, ActivationCase.named("hardswish").df().applyAsDouble(-3));
        assertEquals(1.0, ActivationCase.named("hardswish").df().applyAsDouble(3));
        assertEquals(0.0, ActivationCase.named("hardsigmoid").df().applyAsDouble(3));
        assertEquals(0.0, ActivationCase.named("relu").df().applyAsDouble(0));
    }

    private static void check(String name, double x, double expected) {
        assertEquals(expected, ActivationCase.named(name).f().applyAsDouble(x), 1e-15 * Math.max(1, Math.abs(expected)),
                name + "(" + x + ")");
    }
}
