package org.deepkern.tensor;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tensor.arange and Tensor.linspace: dtypes by torch's rules, counts and values against references
 * written here (integers by stepping in BigInteger until the bound; floating values from the
 * definition in double), and against torch.arange / torch.linspace on the same arguments.
 */
class RangeTest {
    /** start, end, step: empty, negative steps, a step past the end, the top of the long range, a span over 2^63. */
    static final long[][] INTEGRAL = {{0, 10, 1}, {0, 0, 1}, {5, -3, -2}, {-7, 8, 3}, {0, 1, 5},
            {Long.MAX_VALUE - 5, Long.MAX_VALUE, 2}, {Long.MIN_VALUE, Long.MAX_VALUE, Long.MAX_VALUE}};
    static final double[][] FLOATING = {{0, 1, 0.1}, {0.5, 3, 0.7}, {1, -1, -0.25}, {0, 2.5, 1}, {-3.25, -3.25, 0.5},
            {1e6, 1e6 + 1, 1.0 / 1024}};

    static Stream<Arguments> devices() {
        return TestDevices.host().map(Arguments::of);
    }

    /** The integers start, start + step, ... before end, by stepping. */
    static long[] integers(long start, long end, long step) {
        List<Long> out = new ArrayList<>();
        BigInteger v = BigInteger.valueOf(start), e = BigInteger.valueOf(end), s = BigInteger.valueOf(step);
        while (step > 0 ? v.compareTo(e) < 0 : v.compareTo(e) > 0) {
            out.add(v.longValueExact());
            v = v.add(s);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    static double[] asDoubles(long[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /** torch's floating arange, written from its definition: ceil((end - start) / step) values start + i step. */
    static double[] reals(double start, double end, double step) {
        double[] v = new double[(int) Math.ceil((end - start) / step)];
        for (int i = 0; i < v.length; i++) v[i] = start + i * step;
        return v;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void integralArangeIsI64AndExact(Device d) {
        try (Scope s = Scope.open()) {
            for (long[] r : INTEGRAL) {
                long[] expected = integers(r[0], r[1], r[2]);
                Tensor t = Tensor.arange(r[0], r[1], r[2], DType.I64, d);
                assertEquals(DType.I64, t.dtype());
                assertArrayEquals(new long[] {expected.length}, t.shape());
                assertArrayEquals(expected, t.toLongArray(), "arange" + Arrays.toString(r) + " on " + d);
                if (Math.abs(r[0]) < 1 << 20 && Math.abs(r[1]) < 1 << 20) {
                    assertArrayEquals(expected, Tensor.arange(r[0], r[1], r[2], DType.I32, d).toLongArray(), "i32");
                    Close.assertClose(asDoubles(expected), Tensor.arange(r[0], r[1], r[2], DType.F32, d).toFloatArray(), 0, 0, "f32");
                    Close.assertClose(asDoubles(expected), Tensor.arange(r[0], r[1], r[2], DType.BF16, d).toFloatArray(),
                            Math.scalb(1.0, -9), 0, "bf16");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void floatingArangeRoundsTheDoubleValues(Device d) {
        try (Scope s = Scope.open()) {
            for (double[] r : FLOATING) {
                double[] expected = reals(r[0], r[1], r[2]);
                String what = "arange" + Arrays.toString(r) + " on " + d;
                Tensor t = Tensor.arange(r[0], r[1], r[2], DType.F32, d);
                assertEquals(DType.F32, t.dtype());
                // each value is the double start + i step rounded once: within half an f32 ulp
                Close.assertClose(expected, t.toFloatArray(), Math.scalb(1.0, -24), 0, what);
                if (Math.abs(r[0]) < 6e4)  // within f16's range
                    Close.assertClose(expected, Tensor.arange(r[0], r[1], r[2], DType.F16, d).toFloatArray(), Math.scalb(1.0, -11),
                            Math.scalb(1.0, -25), what + " f16");
            }
            // whole numbers in an integer dtype are the long overload's case
            assertArrayEquals(new long[] {0, 1, 2, 3, 4}, Tensor.arange(0.0, 5.0, 1.0, DType.I64, d).toLongArray());
        }
    }

    @Test
    void defaultsFollowTorchsDtypeRules() {
        try (Scope s = Scope.open()) {
            Device def = DeepKern.defaultDevice();
            Tensor a = Tensor.arange(4), b = Tensor.arange(2.5), c = Tensor.arange(1, 7, 2), f = Tensor.arange(1.0, 2.0, 0.25);
            Tensor l = Tensor.linspace(0, 1, 5);
            for (Tensor t : List.of(a, b, c, f, l)) assertEquals(def, t.device());
            assertEquals(DType.I64, a.dtype());
            assertArrayEquals(new long[] {0, 1, 2, 3}, a.toLongArray());
            assertEquals(DType.F32, b.dtype());
            assertArrayEquals(new float[] {0, 1, 2}, b.toFloatArray());
            assertEquals(DType.I64, c.dtype());
            assertArrayEquals(new long[] {1, 3, 5}, c.toLongArray());
            assertEquals(DType.F32, f.dtype());
            assertArrayEquals(new float[] {1, 1.25f, 1.5f, 1.75f}, f.toFloatArray());
            assertEquals(DType.F32, l.dtype());
            assertArrayEquals(new float[] {0, 0.25f, 0.5f, 0.75f, 1}, l.toFloatArray());
            assertEquals(0, Tensor.arange(0).numel());
        }
    }

    static final double[][] LINSPACE = {{0, 1, 5}, {-1, 1, 7}, {3, 3, 4}, {10, -2, 3}, {0, 1, 1}, {0, 1, 0}, {0, 1, 2},
            {-0.3, 0.3, 1001}, {1e-3, 7.1, 10000}, {5, 1e6, 4097}};

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void linspaceMatchesItsDefinitionAndEndsExactly(Device d) {
        try (Scope s = Scope.open()) {
            for (double[] r : LINSPACE) {
                int n = (int) r[2];
                float start = (float) r[0], end = (float) r[1];
                String what = "linspace" + Arrays.toString(r) + " on " + d;
                double[] expected = new double[n];
                for (int i = 0; i < n; i++) expected[i] = n == 1 ? start : start + i * ((double) end - start) / (n - 1);
                float[] got = Tensor.linspace(r[0], r[1], n, DType.F32, d).toFloatArray();
                double scale = Math.max(Math.abs(start), Math.abs(end));
                // f32 arithmetic: a few ulps of the larger end
                Close.assertClose(expected, got, 0, 4 * Math.ulp((float) scale), what);
                if (n > 0) {
                    assertEquals(start, got[0], what + " starts at start");
                    assertEquals(n == 1 ? start : end, got[n - 1], what + " ends at end");
                }
                if (r[0] == -r[1])  // torch's two halves mirror each other: exactly antisymmetric but the middle
                    for (int i = 0; i < n / 2; i++) assertEquals(-got[i], got[n - 1 - i], what + " mirrored at " + i);
                Close.assertClose(expected, Tensor.linspace(r[0], r[1], n, DType.BF16, d).toFloatArray(), Math.scalb(1.0, -8),
                        4 * Math.ulp((float) scale), what + " bf16");
            }
        }
    }

    /** torch.arange with integer and float scalars (its dtype choice included) and torch.linspace, vetted first. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void matchesTorch(Device d) {
        try (Scope s = Scope.open()) {
            Oracle torch = Oracle.torch();
            List<Runnable> compare = new ArrayList<>();
            for (long[] r : INTEGRAL) {
                if (r[0] == Long.MIN_VALUE) continue;  // end - start overflows torch's int64 arithmetic
                long[] ref = integers(r[0], r[1], r[2]);
                Torch.Range t = Torch.arange(r[0], r[1], r[2]);
                String what = "torch.arange" + Arrays.toString(r);
                // torch's dtype rule (integer scalars give i64) is what the defaults copy: compared, not vetted
                compare.add(() -> assertEquals(t.integers() != null, Tensor.arange(r[0], r[1], r[2]).dtype() == DType.I64,
                        what + ": i64 in both"));
                if (t.integers() == null) continue;
                // exactly: torch's values minus the reference must all be 0
                float[] diff = new float[t.integers().length];
                for (int i = 0; i < Math.min(diff.length, ref.length); i++) diff[i] = t.integers()[i] - ref[i];
                torch.vet(what + " minus the reference", new double[ref.length], diff, 0, 0);
                long[] ours = Tensor.arange(r[0], r[1], r[2], DType.I64, d).toLongArray();
                compare.add(() -> assertArrayEquals(t.integers(), ours, what + " vs ours"));
            }
            for (double[] r : FLOATING) {
                double[] ref = reals(r[0], r[1], r[2]);
                Torch.Range t = Torch.arange(r[0], r[1], r[2]);
                String what = "torch.arange" + Arrays.toString(r);
                double ulp = Math.ulp((float) Math.max(Math.abs(r[0]), Math.abs(r[1])));
                compare.add(() -> assertEquals(t.reals() != null, Tensor.arange(r[0], r[1], r[2]).dtype() == DType.F32,
                        what + ": f32 in both"));
                if (t.reals() == null) continue;
                // torch's vectorized CPU loop steps from a rounded base: an ulp off the once-rounded value
                torch.vet(what, ref, t.reals(), 0, 2 * ulp);
                float[] ours = Tensor.arange(r[0], r[1], r[2], DType.F32, d).toFloatArray();
                compare.add(() -> Close.assertClose(doubles(t.reals()), ours, 0, 2 * ulp, what + " vs ours"));
            }
            for (double[] r : LINSPACE) {
                int n = (int) r[2];
                float start = (float) r[0], end = (float) r[1];
                double ulp = Math.ulp((float) Math.max(Math.abs(start), Math.abs(end)));
                double[] ref = new double[n];
                for (int i = 0; i < n; i++) ref[i] = n == 1 ? start : start + i * ((double) end - start) / (n - 1);
                float[] t = Torch.linspace(r[0], r[1], n);
                String what = "torch.linspace" + Arrays.toString(r);
                torch.vet(what, ref, t, 0, 4 * ulp);
                float[] ours = Tensor.linspace(r[0], r[1], n, DType.F32, d).toFloatArray();
                // the same f32 formula; an ulp for a compiler's fused multiply-add
                compare.add(() -> Close.assertClose(doubles(t), ours, 0, ulp, what + " vs ours"));
            }
            torch.judge(() -> compare.forEach(Runnable::run));
        }
    }

    static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    static Stream<Arguments> bad() {
        Device cpu = Device.CPU;
        return Stream.of(
                Arguments.of("Tensor.arange", "step", "nonzero", (Executable) () -> Tensor.arange(0, 10, 0)),
                Arguments.of("Tensor.arange", "end", "expected end >= start for step 1", (Executable) () -> Tensor.arange(-1)),
                Arguments.of("Tensor.arange", "end", "expected end <= start for step -1", (Executable) () -> Tensor.arange(0, 3, -1)),
                Arguments.of("Tensor.arange", "end", "expected end <= start", (Executable) () -> Tensor.arange(0.0, 3.0, -0.5)),
                Arguments.of("Tensor.arange", "end", "finite", (Executable) () -> Tensor.arange(0.0, Double.NaN, 1.0)),
                Arguments.of("Tensor.arange", "start", "finite", (Executable) () -> Tensor.arange(Double.NEGATIVE_INFINITY, 0.0, 1.0)),
                Arguments.of("Tensor.arange", "step", "finite nonzero", (Executable) () -> Tensor.arange(0.0, 1.0, Double.NaN)),
                Arguments.of("Tensor.arange", "step", "finite nonzero", (Executable) () -> Tensor.arange(0.0, 1.0, 0.0)),
                Arguments.of("Tensor.arange", "dtype", "whole-number", (Executable) () -> Tensor.arange(0.5, 3, 1, DType.I64, cpu)),
                Arguments.of("Tensor.arange", "dtype", "i32 cannot hold", (Executable) () -> Tensor.arange(2147483640L, 2147483650L, 1, DType.I32, cpu)),
                Arguments.of("Tensor.arange", "end", "more than the host array", (Executable) () -> Tensor.arange(0, 1L << 40, 1)),
                Arguments.of("Tensor.arange", "end", "more than the host array", (Executable) () -> Tensor.arange(0, 1e300, 1e-300)),
                Arguments.of("Tensor.arange", "dtype", "null", (Executable) () -> Tensor.arange(0, 3, 1, null, cpu)),
                Arguments.of("Tensor.arange", "device", "null", (Executable) () -> Tensor.arange(0.0, 3.0, 1.0, DType.F32, null)),
                Arguments.of("Tensor.linspace", "steps", ">= 0", (Executable) () -> Tensor.linspace(0, 1, -1)),
                Arguments.of("Tensor.linspace", "dtype", "floating dtype", (Executable) () -> Tensor.linspace(0, 1, 3, DType.I64, cpu)),
                Arguments.of("Tensor.linspace", "start", "finite", (Executable) () -> Tensor.linspace(1e300, 1, 3)),
                Arguments.of("Tensor.linspace", "end", "finite", (Executable) () -> Tensor.linspace(0, Double.NaN, 3)),
                Arguments.of("Tensor.linspace", "steps", "more than the host array", (Executable) () -> Tensor.linspace(0, 1, 1L << 33)),
                Arguments.of("Tensor.linspace", "device", "null", (Executable) () -> Tensor.linspace(0, 1, 3, DType.F32, null)));
    }

    @ParameterizedTest(name = "{0}: {1} {2}")
    @MethodSource("bad")
    void badInputNamesTheCall(String call, String argument, String text, Executable run) {
        String message = assertRejects(call, argument, text, run).getMessage();
        assertTrue(message.startsWith(call + ": "), message);
    }
}
