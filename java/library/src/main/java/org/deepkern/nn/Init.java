package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;

/**
 * torch.nn.init's fills for the modules' parameters, each made outside every open {@link Scope}
 * (the module owns it).
 *
 * <p>Uniform values come from the generator's normals, since deepkern's {@link Generator} draws
 * normals only: for two independent standard normals a and b, a^2 + b^2 is exponential with mean
 * 2, so exp(-(a^2 + b^2) / 2) is uniform on (0, 1]. Each value takes two normals of one
 * {@code Tensor.randn} draw on the cpu (the same bits on every backend), advancing the generator as
 * torch's {@code uniform_} advances its own; the arithmetic runs in Java with StrictMath, so a
 * generator state gives the same parameters on every device and machine.
 */
final class Init {
    /** Normals drawn per randn call, which bounds the host memory a large layer needs. */
    private static final int CHUNK = 1 << 20;

    private Init() {}

    /** value, checked to be a size (0 or more) for a constructor's argument. */
    static long size(String op, String argument, long value) {
        if (value < 0) throw DeepKernException.invalidArgument(op, argument, "expected a size >= 0, got " + value);
        return value;
    }

    /**
     * kaiming_uniform_(a = sqrt(5)), torch's default for Linear and Conv weights, and the bound of
     * their biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); 0 for an empty fan (torch's bias bound).
     */
    static double defaultBound(long fanIn) {
        return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    }

    /** xavier_uniform_ with gain 1: U(-b, b), b = sqrt(6 / (fan_in + fan_out)). */
    static double xavierBound(long fanIn, long fanOut) {
        return Math.sqrt(6.0 / (fanIn + fanOut));
    }

    /** torch's fan_in of a weight whose dim 0 is its output: the elements of one output's slice. */
    static long fanIn(long[] shape) {
        long n = 1;
        for (int i = 1; i < shape.length; i++) n *= shape[i];
        return n;
    }

    /** U(-bound, bound] from the generator, in dtype on device; op names the constructor for errors. */
    static Tensor uniform(String op, long[] shape, double bound, DType dtype, Device device, Generator generator) {
        long count = 1;
        for (long d : shape) count = d == 0 || count <= Integer.MAX_VALUE / d ? count * d : Long.MAX_VALUE;
        // the values are drawn on the host, into one Java array
        if (count > Integer.MAX_VALUE - 8) throw DeepKernException.invalidArgument(op, "shape",
                "expected a parameter of at most 2^31 - 9 elements to initialize, got " + java.util.Arrays.toString(shape));
        float[] values = new float[(int) count];
        for (int done = 0; done < values.length; done += CHUNK / 2) {
            int n = Math.min(CHUNK / 2, values.length - done);
            try (Tensor normals = Tensor.randn(new long[] {2L * n}, DType.F32, Device.CPU, generator)) {
                float[] z = normals.toFloatArray();
                for (int i = 0; i < n; i++) {
                    double u = StrictMath.exp(-0.5 * ((double) z[2 * i] * z[2 * i] + (double) z[2 * i + 1] * z[2 * i + 1]));
                    values[done + i] = (float) ((2 * u - 1) * bound);
                }
            }
        }
        try (Tensor f32 = Tensor.of(values, shape, device)) {
            return Scope.detach(f32.to(dtype));
        }
    }

    /** Every element value (torch's constant_), in dtype on device. */
    static Tensor constant(long[] shape, double value, DType dtype, Device device) {
        return Scope.detach(Tensor.full(shape, value, dtype, device));
    }

    /** A norm's normalized_shape: at least one extent, each >= 0 (a copy). */
    static long[] normalizedShape(String op, long[] shape) {
        if (shape == null || shape.length == 0) throw DeepKernException.invalidArgument(op, "normalizedShape",
                "expected at least one extent, got " + java.util.Arrays.toString(shape));
        for (long e : shape) size(op, "normalizedShape", e);
        return shape.clone();
    }

    /** A shape as torch prints a tuple: (3,) or (3, 4). */
    static String tuple(long[] shape) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) b.append(i == 0 ? "" : ", ").append(shape[i]);
        return b.append(shape.length == 1 ? ",)" : ")").toString();
    }
}
