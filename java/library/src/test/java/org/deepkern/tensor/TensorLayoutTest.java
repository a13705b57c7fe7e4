package org.deepkern.tensor;

import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
import static org.deepkern.testing.NativeHandles.context;
import static org.deepkern.testing.NativeHandles.handle;
import static org.deepkern.bindings.global.deepkern.dk_narrow;
import static org.deepkern.bindings.global.deepkern.dk_permute;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.bytedeco.javacpp.IntPointer;
import org.deepkern.internal.Native;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * permute and narrow (views, read back through contiguous copies) move every element as the index maps computed
 * here, for every permutation of ranks up to 4, slices along every dim, and every dtype.
 */
class TensorLayoutTest {
    static Stream<Arguments> cases() {
        return TestDevices.host().flatMap(d -> Stream.of(DType.F32, DType.BF16, DType.I32, DType.I64).map(t -> Arguments.of(d, t)));
    }

    private static Tensor counting(Device dev, DType dtype, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i % 256 - 128;  // exact in bf16
        try (Tensor f = Tensor.of(v, shape, dev)) {
            return f.to(dtype);
        }
    }

    private static List<int[]> permutations(int n) {
        List<int[]> out = new ArrayList<>();
        permute(new int[n], new boolean[n], 0, out);
        return out;
    }

    private static void permute(int[] p, boolean[] used, int at, List<int[]> out) {
        if (at == p.length) {
            out.add(p.clone());
            return;
        }
        for (int i = 0; i < p.length; i++)
            if (!used[i]) {
                used[i] = true;
                p[at] = i;
                permute(p, used, at + 1, out);
                used[i] = false;
            }
    }

    private static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= shape[d];
        }
        return s;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void permuteMovesEveryElement(Device dev, DType dtype) {
        long[][] shapes = {{1}, {5}, {3, 7}, {2, 1, 5}, {2, 3, 4, 5}, {4, 1, 3, 1}};
        for (long[] shape : shapes)
            try (Tensor x = counting(dev, dtype, shape)) {
                float[] xs = x.toFloatArray();
                long[] xst = strides(shape);
                for (int[] p : permutations(shape.length))
                    try (Tensor y = x.permute(p)) {
                        long[] ys = new long[p.length];
                        for (int i = 0; i < p.length; i++) ys[i] = shape[p[i]];
                        assertArrayEquals(ys, y.shape());
                        float[] want = new float[xs.length];
                        long[] yst = strides(ys);
                        for (int i = 0; i < want.length; i++) {
                            long src = 0, rem = i;
                            for (int d = 0; d < p.length; d++) {
                                src += rem / yst[d] * xst[p[d]];
                                rem %= yst[d];
                            }
                            want[i] = xs[(int) src];
                        }
                        assertArrayEquals(want, y.toFloatArray(), () -> java.util.Arrays.toString(p));
                        assertTrue(y.dtype() == dtype);
                    }
            }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void narrowTakesTheSlice(Device dev, DType dtype) {
        SplittableRandom r = new SplittableRandom(7);
        long[] shape = {3, 5, 4, 6};
        try (Tensor x = counting(dev, dtype, shape)) {
            float[] xs = x.toFloatArray();
            long[] xst = strides(shape);
            for (int dim = 0; dim < shape.length; dim++)
                for (int trial = 0; trial < 4; trial++) {
                    long len = r.nextLong(shape[dim] + 1), start = r.nextLong(shape[dim] - len + 1);
                    try (Tensor y = x.narrow(dim, start, len)) {
                        long[] ys = shape.clone();
                        ys[dim] = len;
                        assertArrayEquals(ys, y.shape());
                        long[] yst = strides(ys);
                        float[] want = new float[(int) (xs.length / shape[dim] * len)];
                        for (int i = 0; i < want.length; i++) {
                            long src = 0, rem = i;
                            for (int d = 0; d < shape.length; d++) {
                                long idx = rem / yst[d] + (d == dim ? start : 0);
                                src += idx * xst[d];
                                rem %= yst[d];
                            }
                            want[i] = xs[(int) src];
                        }
                        assertArrayEquals(want, y.toFloatArray());
                    }
                }
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void badArgumentsAreNamed(Device dev) {
        try (Tensor x = Tensor.zeros(new long[] {2, 3, 4}, DType.F32, dev)) {
            String[][] cases = {{"dims", "0,1"}, {"dims", "0,1,1"}, {"dims", "0,1,3"}, {"dims", "-4,0,1"}};
            for (String[] c : cases) {
                int[] dims = Stream.of(c[1].split(",")).mapToInt(Integer::parseInt).toArray();
                var e = assertThrows(DeepKernException.class, () -> x.permute(dims));
                assertTrue(e.getMessage().contains("'dims'"), e.getMessage());
            }
            assertTrue(assertThrows(DeepKernException.class, () -> x.narrow(3, 0, 1)).getMessage().contains("'dim'"));
            assertTrue(assertThrows(DeepKernException.class, () -> x.narrow(1, 0, 4)).getMessage().contains("'length'"));
            assertTrue(assertThrows(DeepKernException.class, () -> x.narrow(1, 2, 2)).getMessage().contains("'start'"));
            assertTrue(assertThrows(DeepKernException.class, () -> x.narrow(1, -4, 1)).getMessage().contains("'start'"));
        }
    }

    /** The C API checks what the Java layer computes for it: the output's shape and the slice bounds. */
    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void nativeChecksTheOutputShape(Device dev) {
        try (Tensor x = Tensor.zeros(new long[] {2, 3, 4}, DType.F32, dev); Tensor out = Tensor.zeros(new long[] {2, 3, 4}, DType.F32, dev);
             Tensor half = Tensor.zeros(new long[] {2, 2, 4}, DType.F32, dev); IntPointer swap = new IntPointer(1, 0, 2);
             IntPointer twice = new IntPointer(0, 0, 2)) {
            String[][] expected = {{"out"}, {"dims"}, {"start"}, {"out"}};
            Runnable[] calls = {
                () -> Native.check(dk_permute(context(x), handle(x), swap, handle(out))),
                () -> Native.check(dk_permute(context(x), handle(x), twice, handle(out))),
                () -> Native.check(dk_narrow(context(x), handle(x), 1, 2, handle(half))),
                () -> Native.check(dk_narrow(context(x), handle(x), 0, 0, handle(half))),
            };
            for (int i = 0; i < calls.length; i++) {
                var e = assertThrows(DeepKernException.class, calls[i]::run);
                assertTrue(e.getMessage().contains("'" + expected[i][0] + "'"), e.getMessage());
            }
        }
    }
}
