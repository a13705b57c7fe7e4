package org.deepkern.cli.bench;

import java.util.List;
import java.util.function.IntToDoubleFunction;
import java.util.stream.IntStream;
import org.deepkern.DType;

/** The correctness gate's arithmetic: relative error in the 2-norm, tolerances by dtype. */
public final class Accuracy {
    private Accuracy() {}

    /** ||out - ref|| / ||ref||; NaN when any output is NaN or infinite where ref is finite. */
    public static double relativeError(double[] ref, float[] out) {
        if (ref.length != out.length) throw new IllegalArgumentException("length " + out.length + " != " + ref.length);
        double diff = 0, norm = 0;
        for (int i = 0; i < ref.length; i++) {
            if (!Double.isFinite(out[i]) && Double.isFinite(ref[i])) return Double.NaN;
            double d = out[i] - ref[i];
            diff += d * d;
            norm += ref[i] * ref[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    /** What rounding to the dtype allows: well above f32 arithmetic, one bf16/f16 ulp or so. */
    public static double tolerance(DType dtype) {
        return switch (dtype) {
            case F32 -> 1e-5;
            case F16 -> 2e-3;
            case BF16 -> 1e-2;
            default -> 0;
        };
    }

    /** Null when the error is within tolerance (NaN never is), else the verdict's reason. */
    public static String judge(double[] ref, float[] out, DType dtype) {
        double err = relativeError(ref, out);
        double tol = tolerance(dtype);
        return err <= tol ? null : String.format("relative error %.3g > %.1g", err, tol);
    }

    /** Each output against its reference; the first failure, named after its output (null: all pass). */
    public static String judge(List<String> names, double[][] ref, float[][] out, DType dtype) {
        for (int i = 0; i < ref.length; i++) {
            String why = judge(ref[i], out[i], dtype);
            if (why != null) return names.get(i) + ": " + why;
        }
        return null;
    }

    /**
     * Checks {@code out} at up to {@code samples} indices scattered over it (all of them when it
     * is no larger), against {@code element}'s double reference there: for the products and
     * convolutions, whose full reference would cost the host as much as the op.
     */
    public static String judgeSampled(float[] out, int samples, IntToDoubleFunction element, DType dtype) {
        int n = out.length, k = Math.min(n, samples);
        double[] ref = new double[k];
        float[] got = new float[k];
        IntStream.range(0, k).parallel().forEach(j -> {
            int i = k == n ? j : (int) Math.floorMod(j * 0x9E3779B97F4A7C15L, (long) n);
            ref[j] = element.applyAsDouble(i);
            got[j] = out[i];
        });
        return judge(ref, got, dtype);
    }

    /** A host reference of n elements, computed in parallel. */
    static double[] reference(int n, IntToDoubleFunction element) {
        double[] ref = new double[n];
        IntStream.range(0, n).parallel().forEach(i -> ref[i] = element.applyAsDouble(i));
        return ref;
    }

    /** x rounded to the dtype, round to nearest even (f32 and bf16). */
    public static float round(float x, DType dtype) {
        return switch (dtype) {
            case F32 -> x;
            case BF16 -> {
                int bits = Float.floatToRawIntBits(x);
                if (Float.isNaN(x)) yield x;
                bits += 0x7FFF + ((bits >>> 16) & 1);
                yield Float.intBitsToFloat(bits & 0xFFFF0000);
            }
            default -> throw new IllegalArgumentException("no host rounding to " + dtype);
        };
    }
}
