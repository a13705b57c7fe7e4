package org.deepkern.activation;

import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.Stream;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.testing.Reference;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * GELU (both forms) in f32 on the host devices within 4 ulp of the double reference at the awkward
 * points: the lower tail from -5 to -15, where the result shrinks through the subnormals to 0 and
 * its relative error is 2z^2 times the argument's; the upper tail; near 0 and the subnormals; the
 * largest floats; +-inf and NaN. vec_math.h states the bound (measured over all 2^32 inputs).
 */
class GeluAccuracyTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (GeluApproximation a : GeluApproximation.values()) out.add(Arguments.of(d, a));
        });
        return out.stream();
    }

    static float[] points() {
        List<Float> p = new ArrayList<>();
        for (int i = 0; i <= 10 * 256; i++) {  // +-5 .. +-15 in steps of 1/256, and a point off the grid
            float x = 5f + i / 256f;
            for (float v : new float[] {x, Math.nextUp(x) + 1e-3f * i / 2560f}) {
                p.add(v);
                p.add(-v);
            }
        }
        float[] special = {0f, -0f, 1e-3f, 1e-10f, 1e-20f, 1e-30f, 1e-38f, Float.MIN_NORMAL, 1e-40f, 1e-44f, Float.MIN_VALUE,
                0.5f, 0.66f, 0.67f, 0.7518f, 1f, 2f, 3.99f, 4f, 100f, 1e10f, 1e30f, Float.MAX_VALUE};
        for (float v : special) {
            p.add(v);
            p.add(-v);
        }
        p.add(Float.POSITIVE_INFINITY);
        p.add(Float.NEGATIVE_INFINITY);
        p.add(Float.NaN);
        float[] x = new float[p.size()];
        for (int i = 0; i < x.length; i++) x[i] = p.get(i);
        return x;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void withinFourUlp(Device device, GeluApproximation approximation) {
        DoubleUnaryOperator ref = approximation == GeluApproximation.TANH ? Reference::geluTanh : Reference::gelu;
        float[] xs = points();
        float[] got;
        try (Tensor x = Tensor.of(xs, new long[] {xs.length}, device); Tensor y = F.gelu(x, approximation)) {
            got = y.toFloatArray();
        }
        double worst = 0;
        for (int i = 0; i < xs.length; i++) {
            double want = ref.applyAsDouble(xs[i]);
            String at = "gelu " + approximation + " on " + device + " at x = " + xs[i] + ": got " + got[i] + ", want " + want;
            // the reference is NaN at -inf (x times a factor that is 0) and NaN; so is the result
            if (Double.isNaN(want)) {
                assertTrue(Float.isNaN(got[i]), at);
                continue;
            }
            float rounded = (float) want;
            if (Float.isInfinite(rounded) || Float.isInfinite(got[i])) {
                assertTrue(rounded == got[i], at);
                continue;
            }
            double ulps = Math.abs(got[i] - want) / Math.ulp(rounded);
            if (!(ulps <= 4)) fail(at + " (" + ulps + " ulp)");
            worst = Math.max(worst, ulps);
        }
        assertTrue(worst <= 4);
    }
}
