package org.deepkern.testing;

import org.deepkern.testing.ActivationChecks;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.provider.Arguments;

/** Shared plumbing of the Softmax*, Norm* and Rope* tests. */
public final class RowChecks {
    private RowChecks() {}

    public static final int[] ROWS = {1, 17, 130};
    public static final int[] COLS = {1, 7, 64, 257};
    public static final int[] LONG_COLS = {1023, 1025, 2051};
    /** Whole 16-byte packs: the register-row kernels with 2, 4 and 8 packs per lane, and just past them. */
    public static final int[] PACKED_COLS = {132, 264, 520, 1032, 2048};
    public static final DType[] DTYPES = {DType.F32, DType.F16, DType.BF16};

    /** Every host device x dtype x (rows, cols) of the odd-size table. */
    public static Stream<Arguments> deviceDtypeShapes() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : DTYPES)
                for (int r : ROWS)
                    for (int c : COLS) out.add(Arguments.of(d, t, r, c));
            // rows longer than the cpu backend's 1024-element accumulation blocks (and emu's row loops)
            for (DType t : DTYPES)
                for (int c : LONG_COLS) out.add(Arguments.of(d, t, 3, c));
            for (DType t : DTYPES)
                for (int c : PACKED_COLS) out.add(Arguments.of(d, t, 5, c));
        });
        return out.stream();
    }

    public static Stream<Arguments> devices() {
        return TestDevices.host().map(Arguments::of);
    }

    /** Relative tolerance, and absolute per unit of the reference's magnitude. */
    public static double tol(DType dtype) {
        return switch (dtype) {
            case F32 -> 2e-5;
            case F16 -> Math.scalb(1.0, -9);
            default -> Math.scalb(1.0, -7);
        };
    }

    public static float[] normal(int n, long seed, double mean, double std) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (mean + std * rng.nextGaussian());
        return v;
    }

    public static Tensor tensor(Device device, DType dtype, float[] values, long... shape) {
        return ActivationChecks.tensor(device, dtype, values, shape);
    }

    /** Below f16's normal range its spacing is absolute: 2^-24 (bf16 shares f32's range). */
    public static double floor(DType dtype) {
        return dtype == DType.F16 ? Math.scalb(1.0, -24) : 0;
    }

    public static void assertRef(RowReference.Out ref, Tensor got, DType dtype, String what) {
        double t = tol(dtype), f = floor(dtype);
        Close.assertClose(ref.value(), got.toFloatArray(), t, i -> t * ref.mag()[i] + f, what);
    }

    /**
     * Central differences of L(p) = sum(f(p) * r) over every element of the f32 parameter p (on the
     * device), against the gradient the backward gave: the backward is the forward's derivative.
     */
    public static void assertFiniteDifferences(Device device, float[] p, long[] shape, float[] r,
                                        Function<Tensor, Tensor> f, float[] grad, String what) {
        double h = 1e-2;
        double[] fd = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            float keep = p[i];
            p[i] = keep + (float) h;
            double up = loss(device, p, shape, r, f);
            p[i] = keep - (float) h;
            double down = loss(device, p, shape, r, f);
            p[i] = keep;
            fd[i] = (up - down) / (2 * h);
        }
        Close.assertClose(fd, grad, 5e-3, 5e-3, what + " vs central differences");
    }

    private static double loss(Device device, float[] p, long[] shape, float[] r, Function<Tensor, Tensor> f) {
        try (Tensor t = Tensor.of(p, shape, device); Tensor y = f.apply(t)) {
            float[] v = y.toFloatArray();
            double s = 0;
            for (int i = 0; i < v.length; i++) s += (double) v[i] * r[i];
            return s;
        }
    }
}
