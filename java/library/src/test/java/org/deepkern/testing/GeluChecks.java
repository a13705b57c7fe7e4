package org.deepkern.testing;

import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.Reference;

/** The GELU correctness checks, run by GeluTest on cpu/emu and by GeluGpuTest on cuda. */
public final class GeluChecks {
    private GeluChecks() {}

    public static final long[] SIZES = {0, 1, 7, 4097, (1 << 20) + 3};

    /**
     * Inputs: mostly N(0, 3^2), one in eight of large magnitude (|x| up to 1e4 and a few near the
     * dtype's range), plus exact zeros of both signs.
     */
    public static float[] inputs(int n, long seed, DType dtype) {
        SplittableRandom rng = new SplittableRandom(seed);
        float max = dtype == DType.F16 ? 65504f : 3e38f;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            int kind = rng.nextInt(64);
            if (kind < 56) x[i] = (float) (3 * rng.nextGaussian());
            else if (kind < 62) x[i] = (float) ((rng.nextBoolean() ? 1 : -1) * Math.pow(10, 4 * rng.nextDouble()));
            else if (kind == 62) x[i] = rng.nextBoolean() ? max : -max;
            else x[i] = rng.nextBoolean() ? 0f : -0f;
        }
        return x;
    }

    /**
     * rtol and atol per dtype: f32 on cuda to 1e-6 relative; f32 on the host devices (vec_math.h's
     * functions, at most 4 ulp over every f32 input) to 4 units of 2^-23 relative and 4 subnormal
     * spacings; f16/bf16 to one unit in the last place (twice the rounding error of a correctly
     * rounded result), f16 subnormals to their spacing.
     */
    public static double[] tolerance(DType dtype, Device device) {
        return switch (dtype) {
            case F32 -> device.type() == Device.Type.CUDA ? new double[] {1e-6, 1e-30}
                    : new double[] {4 * Math.scalb(1.0, -23), 4 * Math.scalb(1.0, -149)};
            case F16 -> new double[] {Math.scalb(1.0, -10), Math.scalb(1.0, -24)};
            case BF16 -> new double[] {Math.scalb(1.0, -7), 1e-30};
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    public static void check(Device device, DType dtype, GeluApproximation approximation, long n) {
        DoubleUnaryOperator ref = approximation == GeluApproximation.TANH ? Reference::geluTanh : Reference::gelu;
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(inputs((int) n, 17 * n + dtype.ordinal(), dtype), new long[] {n}, device).to(dtype);
            float[] xs = x.toFloatArray();  // the inputs as the dtype holds them
            Tensor out = Tensor.full(new long[] {n}, Double.NaN, dtype, device);  // poisoned: unwritten elements fail
            F.gelu(x, approximation, out);
            double[] expected = new double[xs.length];
            for (int i = 0; i < xs.length; i++) expected[i] = ref.applyAsDouble(xs[i]);
            double[] tol = tolerance(dtype, device);
            Close.assertClose(expected, out.toFloatArray(), tol[0], tol[1],
                    "gelu " + approximation + " " + dtype + " n=" + n + " on " + device);
            // the allocating form gives the same result
            assertArrayEquals(out.toFloatArray(), F.gelu(x, approximation).toFloatArray());
        }
    }
}
