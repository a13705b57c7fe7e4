package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.IntToDoubleFunction;

/** Element-wise comparison against a reference: |got - ref| <= atol + rtol |ref|; NaN never passes. */
public final class Close {
    private Close() {}

    public static void assertClose(double[] ref, float[] got, double rtol, double atol, String what) {
        assertClose(ref, got, rtol, i -> atol, what);
    }

    /** The same with an absolute tolerance per element. */
    public static void assertClose(double[] ref, float[] got, double rtol, IntToDoubleFunction atolAt, String what) {
        if (ref.length != got.length) fail(what + ": length " + got.length + ", expected " + ref.length);
        int bad = 0, first = -1;
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < ref.length; i++) {
            double atol = atolAt.applyAsDouble(i);
            double err = Math.abs(got[i] - ref[i]);
            boolean ok = Double.isNaN(ref[i]) ? Float.isNaN(got[i])
                    : Double.isInfinite(ref[i]) ? got[i] == ref[i]
                    : !Float.isNaN(got[i]) && err <= atol + rtol * Math.abs(ref[i]);
            if (!ok) {
                if (first < 0) first = i;
                bad++;
            }
            double scaled = err / (atol + rtol * Math.abs(ref[i]));
            if (!(scaled <= worst)) {
                worst = scaled;
                worstAt = i;
            }
        }
        if (bad > 0) {
            fail(String.format("%s: %d of %d elements off (rtol %.1e, atol %.1e at the first); first at %d: got %s, expected %s;"
                            + " worst at %d: got %s, expected %s", what, bad, ref.length, rtol, atolAt.applyAsDouble(first), first,
                    got[first], ref[first], worstAt, got[worstAt], ref[worstAt]));
        }
    }
}
