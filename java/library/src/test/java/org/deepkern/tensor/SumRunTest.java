package org.deepkern.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Forked;
import org.junit.jupiter.api.Test;

/**
 * The cpu's contiguous floating-point sum (a row summed over its last dim, in f64 lanes per ISA
 * copy): lengths around the lane count (tails of every size), rows longer than the summing block
 * (cut into blocks on the pool), f32 / bf16 / f16, against a double sum of the stored values; the
 * result must be that sum rounded to the dtype, within one of its ulps. Then every ISA copy
 * (DEEPKERN_CPU_ISA = sse2, avx2) and 3 threads in JVMs of their own: the same checks, and the same
 * bits as the default run.
 */
class SumRunTest {
    static final int[] LENGTHS = {1, 2, 15, 16, 17, 31, 32, 33, 47, 1000, 1029, 65536, 65537, 200_003};
    static final DType[] DTYPES = {DType.F32, DType.BF16, DType.F16};

    /** Unit roundoff of a dtype: half the spacing of its values at 1. */
    static double unit(DType t) {
        return switch (t) {
            case BF16 -> 0x1p-8;
            case F16 -> 0x1p-11;
            default -> 0x1p-24;
        };
    }

    /** Checks every case and returns a hash of the results' bits. */
    static long checkAll() {
        long hash = 17;
        for (DType t : DTYPES)
            for (int n : LENGTHS) {
                int rows = n > 60_000 ? 2 : 3;
                Random rnd = new Random(n * 31L + t.ordinal());
                float[] v = new float[rows * n];
                for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() + (i % 3 == 0 ? 0.25 : 0));
                try (Scope s = Scope.open()) {
                    Tensor x = Tensor.of(v, new long[] {rows, n}, Device.CPU).to(t);
                    float[] stored = x.to(DType.F32).toFloatArray();
                    float[] got = x.sum(1, false).to(DType.F32).toFloatArray();
                    for (int r = 0; r < rows; r++) {
                        double sum = 0, mag = 0;
                        for (int i = 0; i < n; i++) {
                            sum += stored[r * n + i];
                            mag += Math.abs(stored[r * n + i]);
                        }
                        double tol = 2 * unit(t) * Math.abs(sum) + n * 0x1p-50 * mag + Double.MIN_NORMAL;
                        String what = t + " n " + n + " row " + r + ": got " + got[r] + ", want " + sum;
                        assertTrue(Math.abs(got[r] - sum) <= tol, what);
                        hash = hash * 1_000_003 + Float.floatToRawIntBits(got[r]);
                    }
                }
            }
        return hash;
    }

    @Test
    void everyLengthAndDtype() {
        checkAll();
    }

    /** The ISA copies and a thread count other than the default's: same checks, same bits. */
    @Test
    void sameBitsOnEveryIsaCopyAndThreadCount() throws Exception {
        String want = "bits " + checkAll();
        for (Map<String, String> env : new Map[] {Map.of("DEEPKERN_CPU_ISA", "sse2"), Map.of("DEEPKERN_CPU_ISA", "avx2"),
                Map.of("DEEPKERN_NUM_THREADS", "3")}) {
            StringBuilder out = new StringBuilder();
            Forked.End end = Forked.run(Main.class, env, 300, l -> out.append(l).append('\n'));
            assertFalse(end.hung(), env + ": hung\n" + out);
            assertEquals(0, end.exit(), env + ":\n" + out);
            assertTrue(out.toString().contains(want), env + ": want " + want + "\n" + out);
        }
    }

    public static final class Main {
        public static void main(String[] args) {
            System.out.println("bits " + checkAll());
        }
    }
}
