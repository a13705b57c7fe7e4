package org.deepkern.tensor;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleBinaryOperator;
import java.util.function.Function;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Broadcast;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * add, sub, mul, div, maximum and minimum with broadcasting and with scalars, against a double
 * reference written here (the broadcast index map of testing/Broadcast), on every dtype.
 */
class ArithmeticTest {
    /** Pairs of shapes that broadcast: equal, a scalar, leading dims, 1s on either side, empty. */
    static final long[][][] PAIRS = {
        {{3, 4}, {3, 4}}, {{}, {2, 3}}, {{2, 3}, {}}, {{3, 1, 5}, {4, 1}}, {{1, 7}, {6, 1}}, {{2, 3, 4}, {4}},
        {{0, 3}, {3}}, {{5, 1, 1, 4}, {1, 3, 2, 1}}, {{1000, 33}, {33}},
    };

    static Stream<Arguments> cases() {
        return TestDevices.host().flatMap(d -> Stream.of(DType.F32, DType.F16, DType.BF16, DType.I32, DType.I64)
                .map(t -> Arguments.of(d, t)));
    }

    private record Op(String name, Function<Tensor[], Tensor> run, DoubleBinaryOperator ref, boolean floatOnly) {}

    private static final Op[] OPS = {
        new Op("add", t -> t[0].add(t[1]), Double::sum, false),
        new Op("add alpha", t -> t[0].add(t[1], -3), (x, y) -> x - 3 * y, false),
        new Op("sub", t -> t[0].sub(t[1]), (x, y) -> x - y, false),
        new Op("mul", t -> t[0].mul(t[1]), (x, y) -> x * y, false),
        new Op("div", t -> t[0].div(t[1]), (x, y) -> x / y, true),
        new Op("maximum", t -> t[0].maximum(t[1]), Math::max, false),
        new Op("minimum", t -> t[0].minimum(t[1]), Math::min, false),
    };

    /** Values exact in every dtype (small integers and halves), so the reference rounds to what a kernel stores. */
    static float[] values(int n, long seed, DType dtype) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = dtype.isFloating() ? (float) (r.nextInt(-64, 65) / 4.0) : r.nextInt(-1000, 1001);
        return v;
    }

    /** values as a tensor of shape (0-dim when shape is empty) and dtype on dev. */
    static Tensor make(float[] values, long[] shape, DType dtype, Device dev) {
        try (Tensor f = Tensor.of(values, new long[] {values.length}, Device.CPU); Tensor t = f.to(dtype)) {
            return t.to(dev).reshape(shape);
        }
    }

    static double tol(DType dtype) {
        return switch (dtype) {
            case F32 -> 1e-6;
            case F16 -> 1e-3;
            case BF16 -> 8e-3;
            default -> 0;
        };
    }

    @ParameterizedTest
    @MethodSource("cases")
    void tensorOpsBroadcastAsTorch(Device dev, DType dtype) {
        for (long[][] pair : PAIRS) {
            try (Scope scope = Scope.open()) {
                float[] av = values(Broadcast.numel(pair[0]), 1, dtype), bv = values(Broadcast.numel(pair[1]), 2, dtype);
                for (int i = 0; i < bv.length; i++) if (bv[i] == 0) bv[i] = 1;  // no division by zero here
                Tensor a = make(av, pair[0], dtype, dev), b = make(bv, pair[1], dtype, dev);
                long[] shape = Broadcast.shape(pair[0], pair[1]);
                for (Op op : OPS) {
                    if (op.floatOnly && !dtype.isFloating()) continue;
                    String what = op.name + " " + java.util.Arrays.toString(pair[0]) + " " + java.util.Arrays.toString(pair[1])
                            + " " + dtype + " on " + dev;
                    Tensor out = op.run.apply(new Tensor[] {a, b});
                    assertArrayEquals(shape, out.shape(), what);
                    assertEquals(dtype, out.dtype(), what);
                    double[] ref = Broadcast.apply(av, pair[0], bv, pair[1], op.ref);
                    Close.assertClose(ref, out.toFloatArray(), tol(dtype), 0, what);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void scalarsAndInPlaceForms(Device dev, DType dtype) {
        try (Scope scope = Scope.open()) {
            float[] av = values(37, 3, dtype);
            Tensor a = make(av, new long[] {37}, dtype, dev);
            double s = dtype.isFloating() ? 2.5 : 7;
            Object[][] forms = {
                {"add", a.add(s), (DoubleBinaryOperator) (x, y) -> x + y},
                {"sub", a.sub(s), (DoubleBinaryOperator) (x, y) -> x - y},
                {"rsub", a.rsub(s), (DoubleBinaryOperator) (x, y) -> y - x},
                {"mul", a.mul(s), (DoubleBinaryOperator) (x, y) -> x * y},
                {"neg", a.neg(), (DoubleBinaryOperator) (x, y) -> -x},
            };
            for (Object[] f : forms) {
                DoubleBinaryOperator ref = (DoubleBinaryOperator) f[2];
                double[] want = new double[av.length];
                for (int i = 0; i < av.length; i++) want[i] = ref.applyAsDouble(av[i], s);
                Close.assertClose(want, ((Tensor) f[1]).toFloatArray(), tol(dtype), 0, f[0] + " " + dtype + " on " + dev);
            }
            if (dtype.isFloating()) {
                double[] want = new double[av.length];
                for (int i = 0; i < av.length; i++) want[i] = av[i] / s;
                Close.assertClose(want, a.div(s).toFloatArray(), tol(dtype), 0, "div " + dtype);
            }
            Tensor c = a.clone(), row = make(new float[] {2}, new long[] {1}, dtype, dev);
            assertSame(c, c.add_(a, 2).mul_(row).add_(1).mul_(-1));
            double[] want = new double[av.length];
            for (int i = 0; i < av.length; i++) want[i] = -((av[i] + 2 * av[i]) * 2 + 1);
            Close.assertClose(want, c.toFloatArray(), tol(dtype), 0, "in place " + dtype);
            Tensor e = a.clone();
            assertSame(e, e.sub_(a, 3).sub_(row).sub_(1));
            for (int i = 0; i < av.length; i++) want[i] = av[i] - 3 * av[i] - 2 - 1;
            Close.assertClose(want, e.toFloatArray(), tol(dtype), 0, "sub_ " + dtype);
            if (dtype.isFloating()) {
                assertSame(e, e.div_(row).div_(4));
                for (int i = 0; i < av.length; i++) want[i] = (av[i] - 3 * av[i] - 2 - 1) / 2 / 4;
                Close.assertClose(want, e.toFloatArray(), 2 * tol(dtype), 0, "div_ " + dtype);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void integersWrapAndNaNPropagates(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor big = Tensor.of(new int[] {Integer.MAX_VALUE, Integer.MIN_VALUE}, new long[] {2}, dev);
            assertArrayEquals(new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE},
                    big.add(Tensor.of(new int[] {1, -1}, new long[] {2}, dev)).toIntArray());
            Tensor x = Tensor.of(new float[] {Float.NaN, 1, 2}, new long[] {3}, dev);
            Tensor y = Tensor.of(new float[] {0, Float.NaN, 1}, new long[] {3}, dev);
            float[] mx = x.maximum(y).toFloatArray(), mn = x.minimum(y).toFloatArray();
            assertTrue(Float.isNaN(mx[0]) && Float.isNaN(mx[1]) && mx[2] == 2, java.util.Arrays.toString(mx));
            assertTrue(Float.isNaN(mn[0]) && Float.isNaN(mn[1]) && mn[2] == 1, java.util.Arrays.toString(mn));
            float[] inf = Tensor.of(new float[] {1, -1, 0}, new long[] {3}, dev).div(0).toFloatArray();
            assertTrue(inf[0] == Float.POSITIVE_INFINITY && inf[1] == Float.NEGATIVE_INFINITY && Float.isNaN(inf[2]));
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void badOperandsAreNamed(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor a = Tensor.zeros(new long[] {2, 3}, DType.F32, dev);
            Tensor i = Tensor.zeros(new long[] {2, 3}, DType.I32, dev);
            assertRejects("other", "broadcast", () -> a.add(Tensor.zeros(new long[] {4}, DType.F32, dev)));
            assertRejects("other", "dtype", () -> a.mul(Tensor.zeros(new long[] {3}, DType.BF16, dev)));
            assertRejects("other", "null", () -> a.sub((Tensor) null));
            assertRejects("this", "floating", () -> i.div(i));
            assertRejects("scalar", "whole number", () -> i.add(0.5));
            assertRejects("alpha", "whole number", () -> i.add(i, 0.5));
            assertRejects("alpha", "finite", () -> a.add(a, Double.NaN));
            assertRejects("this", "broadcast", () -> Tensor.zeros(new long[] {3}, DType.F32, dev).add_(a));
            Tensor other = Tensor.zeros(new long[] {3}, DType.F32, dev.equals(Device.CPU) ? Device.EMU : Device.CPU);
            if (!dev.equals(other.device())) assertRejects("other", "move one with to(device)", () -> a.add(other));
            a.close();
            assertRejects("this", "closed", () -> a.add(1));
        }
    }
}
