package org.deepkern.testing;

import java.util.function.DoubleBinaryOperator;

/** torch's broadcasting, written plainly for references: the broadcast shape and the element maps. */
public final class Broadcast {
    private Broadcast() {}

    public static int numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return Math.toIntExact(n);
    }

    /** The broadcast of shapes a and b (aligned at the last dim, extents equal or 1). */
    public static long[] shape(long[] a, long[] b) {
        int nd = Math.max(a.length, b.length);
        long[] out = new long[nd];
        for (int i = 0; i < nd; i++) {
            long da = extent(a, i, nd), db = extent(b, i, nd);
            if (da != db && da != 1 && db != 1) throw new IllegalArgumentException("shapes do not broadcast");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    private static long extent(long[] s, int i, int nd) {
        int j = i - (nd - s.length);
        return j < 0 ? 1 : s[j];
    }

    /** The row-major index into an operand of shape s of the output element with index out in shape o. */
    public static int source(long[] s, long[] o, int out) {
        int at = 0;
        long stride = 1;
        for (int i = o.length - 1; i >= 0; i--) {
            long idx = out % o[i];
            out /= o[i];
            int j = i - (o.length - s.length);
            if (j >= 0) {
                if (s[j] != 1) at += idx * stride;
                stride *= s[j];
            }
        }
        return at;
    }

    /** f(a, b) over the broadcast shape, in double. */
    public static double[] apply(float[] a, long[] as, float[] b, long[] bs, DoubleBinaryOperator f) {
        long[] o = shape(as, bs);
        double[] out = new double[numel(o)];
        for (int i = 0; i < out.length; i++) out[i] = f.applyAsDouble(a[source(as, o, i)], b[source(bs, o, i)]);
        return out;
    }
}
