package org.deepkern.fuzz;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.deepkern.DType;

/**
 * The random choices of one fuzzed call, from one seed: shapes that are mostly consistent with
 * each other (so most calls reach the kernels) and sometimes not, extents that are often 0, dtypes,
 * parameters that are mostly modest and sometimes extreme, and now and then a tensor argument
 * that is null, closed or on the other device. Whether the call stayed "modest" (every tensor
 * given and every parameter moderate) decides whether its outputs must be finite.
 */
final class Draw {
    private static final long[] DIMS = {0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33};
    private static final double[] EXTREME = {0.0, -0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
        1e30, -1e30, 1e-30, 1e300, -1e300, Double.MIN_VALUE};
    private static final int[] EXTREME_INTS = {0, -1, -7, 1 << 14, 1 << 20, 1 << 30, Integer.MAX_VALUE, Integer.MIN_VALUE};

    final SplittableRandom rng;
    final List<Arg> tensors = new ArrayList<>();
    private final StringBuilder text = new StringBuilder();
    private boolean modest = true;
    private boolean largeOutput;

    Draw(long seed) {
        rng = new SplittableRandom(seed);
    }

    boolean chance(double p) {
        return rng.nextDouble() < p;
    }

    <T> T pick(List<T> options) {
        return options.get(rng.nextInt(options.size()));
    }

    /** An extent: small and often 0; rarely 2^40 (only allowed where another extent is 0). */
    long dim() {
        if (chance(0.01)) return 1L << 40;
        return DIMS[rng.nextInt(DIMS.length)];
    }

    long[] shape(int rank) {
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) s[i] = dim();
        return s;
    }

    long[] shape() {
        return shape(rng.nextInt(5));
    }

    /** shape most of the time, a mutation of it (one extent changed, or another rank) otherwise. */
    long[] like(long[] shape) {
        if (chance(0.9)) return shape.clone();
        if (chance(0.5) || shape.length == 0) return shape();
        long[] s = shape.clone();
        s[rng.nextInt(s.length)] = dim();
        modest &= Arrays.equals(s, shape);
        return s;
    }

    DType floating() {
        double u = rng.nextDouble();
        return u < 0.5 ? DType.F32 : u < 0.75 ? DType.BF16 : DType.F16;
    }

    /** A floating dtype mostly, an integer one (always rejected by the float ops) sometimes. */
    DType dtype() {
        if (chance(0.04)) return chance(0.5) ? DType.I32 : DType.I64;
        return floating();
    }

    /** dtype most of the time, another one otherwise. */
    DType like(DType dtype) {
        return chance(0.93) ? dtype : dtype();
    }

    /** A parameter: uniform in [lo, hi] mostly, an extreme value (NaN, inf, 1e300, 0 ...) otherwise. */
    double scalar(String name, double lo, double hi) {
        double v = chance(0.9) ? lo + (hi - lo) * rng.nextDouble() : extreme();
        note(name, v);
        return v;
    }

    double extreme() {
        modest = false;
        return EXTREME[rng.nextInt(EXTREME.length)];
    }

    /** An int parameter in [lo, hi] mostly, an extreme one otherwise. */
    int integer(String name, int lo, int hi) {
        int v;
        if (chance(0.92)) {
            v = lo + rng.nextInt(hi - lo + 1);
        } else {
            v = EXTREME_INTS[rng.nextInt(EXTREME_INTS.length)];
            modest = false;
        }
        note(name, v);
        return v;
    }

    boolean bool(String name) {
        boolean b = rng.nextBoolean();
        note(name, b);
        return b;
    }

    <T> T option(String name, List<T> values) {
        T v = pick(values);
        if (v == null) modest = false;
        note(name, v);
        return v;
    }

    /** A tensor argument: index into {@link #tensors}; usually made, sometimes null / closed / elsewhere. */
    int tensor(String name, long[] shape, DType dtype) {
        return tensor(name, shape, dtype, true);
    }

    /** The tensor a method is called on: never null. */
    int receiver(String name, long[] shape, DType dtype) {
        return tensor(name, shape, dtype, false);
    }

    private int tensor(String name, long[] shape, DType dtype, boolean mayBeNull) {
        Arg.Kind kind = Arg.Kind.NORMAL;
        double u = rng.nextDouble();
        if (u < 0.015 && mayBeNull) kind = Arg.Kind.NULL;
        else if (u < 0.03) kind = Arg.Kind.CLOSED;
        else if (u < 0.045) kind = Arg.Kind.OTHER_DEVICE;
        if (kind != Arg.Kind.NORMAL || dtype == DType.I32 || dtype == DType.I64) modest = false;
        tensors.add(new Arg(name, shape, dtype, kind, rng.nextLong()));
        note(name, tensors.get(tensors.size() - 1));
        return tensors.size() - 1;
    }

    /** An optional tensor: absent (null, which is valid) half of the time. */
    int optional(String name, long[] shape, DType dtype) {
        if (chance(0.5)) {
            tensors.add(new Arg(name, shape, dtype, Arg.Kind.ABSENT, 0));
            note(name, "none");
            return tensors.size() - 1;
        }
        return tensor(name, shape, dtype);
    }

    /** An int tensor (key lengths) with values in [lo, hi]. */
    int ints(String name, long[] shape, DType dtype, int lo, int hi) {
        tensors.add(new Arg(name, shape, dtype, Arg.Kind.INTS, rng.nextLong(), lo, hi));
        note(name, tensors.get(tensors.size() - 1));
        return tensors.size() - 1;
    }

    void note(String name, Object value) {
        text.append(text.length() == 0 ? "" : ", ").append(name).append('=').append(value);
    }

    /** Marks the call's output as legitimately large (parameters make it so): the fuzz skips such calls. */
    void output(long[] shape) {
        double n = 1;
        for (long e : shape) n *= Math.max(e, 0);
        largeOutput |= n > (1 << 22) && n <= 0x1p34;
    }

    /** Marks the call as legitimately costly (parameters ask for that much work): the fuzz skips it. */
    void heavy() {
        largeOutput = true;
    }

    boolean largeOutput() {
        return largeOutput;
    }

    /** Marks the call as not modest (a parameter the op may legitimately turn into inf). */
    void immodest() {
        modest = false;
    }

    boolean modest() {
        return modest;
    }

    String text() {
        return text.toString();
    }
}
