package org.deepkern.fuzz;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;

/**
 * A tensor argument of a fuzzed call, made on a device when the call runs: N(0, 1) values from its
 * seed (the same bits on every backend), integers in [lo, hi] for INTS, or a deliberately bad
 * argument (null, closed, on the other device). ABSENT is an optional argument left out (null).
 */
record Arg(String name, long[] shape, DType dtype, Kind kind, long seed, int lo, int hi) {
    enum Kind {
        NORMAL, INTS, ABSENT, NULL, CLOSED, OTHER_DEVICE
    }

    Arg(String name, long[] shape, DType dtype, Kind kind, long seed) {
        this(name, shape, dtype, kind, seed, 0, 0);
    }

    /** This argument on device d (other: the device a misplaced tensor goes to); may throw for a bad shape. */
    Tensor make(Device d, Device other) {
        return switch (kind) {
            case ABSENT, NULL -> null;
            case CLOSED -> {
                Tensor t = values(d);
                t.close();
                yield t;
            }
            case OTHER_DEVICE -> values(other);
            default -> values(d);
        };
    }

    private Tensor values(Device d) {
        if (kind == Kind.INTS || dtype == DType.I32 || dtype == DType.I64) {
            long n = 1;
            for (long e : shape) n = n <= (1 << 20) / Math.max(e, 1) ? n * e : Long.MAX_VALUE;
            if (Arrays.stream(shape).anyMatch(e -> e == 0)) n = 0;
            if (Arrays.stream(shape).anyMatch(e -> e < 0)) n = Long.MAX_VALUE;  // rejected by Tensor.zeros
            if (n > 1 << 20) return Tensor.zeros(shape, dtype, d);  // too large to write from an array: rejected
            SplittableRandom r = new SplittableRandom(seed);
            int[] v = new int[Math.toIntExact(n)];
            for (int i = 0; i < v.length; i++) v[i] = lo + r.nextInt(Math.max(1, hi - lo + 1));
            Tensor t = shape.length > 0 ? Tensor.of(v, shape, d) : scalar(Tensor.of(v, new long[0], d));
            if (dtype == DType.I32) return t;
            try (t) {
                return t.to(dtype);
            }
        }
        return Tensor.randn(shape, dtype, d, new Generator(seed));
    }

    private static Tensor scalar(Tensor oneElement) {
        try (oneElement) {
            return oneElement.reshape();
        }
    }

    /**
     * Whether this argument would be large but still allocatable (more than 2^20 elements, at most
     * 2^34): shapes past that are made and must be rejected; below it they are quick to make.
     */
    boolean large() {
        if (kind == Kind.ABSENT || kind == Kind.NULL) return false;
        double n = 1;
        for (long e : shape) n *= e;
        return n > (1 << 20) && n <= 0x1p34;
    }

    boolean given() {
        return kind == Kind.NORMAL || kind == Kind.INTS;
    }

    @Override
    public String toString() {
        String s = dtype.name().toLowerCase() + Arrays.toString(shape);
        return kind == Kind.NORMAL ? s : kind.name().toLowerCase() + " " + s;
    }
}
