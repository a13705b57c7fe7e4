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
        String why = mismatch(ref, got, rtol, atolAt, what);
        if (why != null) fail(why);
    }

    /** What is off when got is not close to ref (null when it is): the count, the first and the worst element. */
    public static String mismatch(double[] ref, float[] got, double rtol, IntToDoubleFunction atolAt, String what) {
        if (ref.length != got.length) return what + ": length " + got.length + ", expected " + ref.length;
        int bad = 0, first = -1;
        double worst = 0, maxErr = 0;
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
                if (!(err <= maxErr)) maxErr = err;
            }
            double scaled = err / (atol + rtol * Math.abs(ref[i]));
            if (!(scaled <= worst)) {
                worst = scaled;
                worstAt = i;
            }
        }
        if (bad == 0) return null;
        return String.format("%s: %d of %d elements off, max error %.3g (rtol %.1e, atol %.1e at the first); first at %d:"
                        + " got %s, expected %s; worst at %d: got %s, expected %s", what, bad, ref.length, maxErr, rtol,
                atolAt.applyAsDouble(first), first, got[first], ref[first], worstAt, got[worstAt], ref[worstAt]);
    }
}
