package org.deepkern.pool;

import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tol;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.deepkern.ops.Pool2dParams;
import org.deepkern.ops.PoolResult;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.testing.Close;
import org.deepkern.testing.Images;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Max, average and adaptive 2-D pooling, forward and backward, both layouts, against PoolReference. */
class PoolTest {
    /** {N, C, H, W}, window {kh, kw, sh, sw, ph, pw, dh, dw}, ceil mode, count_include_pad, divisor. */
    record Case(int[] image, int[] window, boolean ceil, boolean countIncludePad, int divisor) {
        @Override
        public String toString() {
            return Arrays.toString(image) + " " + Arrays.toString(window) + (ceil ? " ceil" : "")
                    + (countIncludePad ? "" : " no-pad-count") + (divisor != 0 ? " div " + divisor : "");
        }

        Pool2dParams params(Layout layout, boolean max) {
            int[] k = window;
            Pool2dParams p = Pool2dParams.of(k[0], k[1]).withStride(k[2], k[3]).withPadding(k[4], k[5])
                    .withCeilMode(ceil).withLayout(layout);
            return max ? p.withDilation(k[6], k[7]) : p.withCountIncludePad(countIncludePad).withDivisorOverride(divisor);
        }

        PoolReference.Spec spec(boolean max) {
            int[] k = max ? window : new int[] {window[0], window[1], window[2], window[3], window[4], window[5], 1, 1};
            return PoolReference.Spec.windowed(max, k, ceil, !max && countIncludePad, max ? 0 : divisor);
        }
    }

    static final Case[] WINDOWED = {
        new Case(new int[] {2, 3, 7, 9}, new int[] {3, 3, 2, 2, 1, 1, 1, 1}, false, true, 0),
        new Case(new int[] {1, 5, 8, 8}, new int[] {2, 2, 2, 2, 0, 0, 1, 1}, false, true, 0),
        new Case(new int[] {2, 4, 11, 10}, new int[] {3, 2, 2, 3, 1, 1, 1, 1}, true, false, 0),
        new Case(new int[] {1, 3, 13, 12}, new int[] {3, 3, 1, 2, 1, 0, 2, 3}, false, true, 0),
        new Case(new int[] {1, 2, 5, 6}, new int[] {5, 5, 1, 1, 2, 2, 1, 1}, false, false, 7),
        new Case(new int[] {3, 17, 6, 5}, new int[] {3, 3, 2, 2, 1, 1, 1, 1}, true, true, 0),
        new Case(new int[] {1, 1, 1, 1}, new int[] {1, 1, 1, 1, 0, 0, 1, 1}, false, true, 0),
        new Case(new int[] {0, 3, 4, 4}, new int[] {2, 2, 2, 2, 0, 0, 1, 1}, false, true, 0),
    };

    /** {N, C, H, W, outH, outW}: shrinking, growing (bins overlap), global, identity, uneven. */
    static final int[][] ADAPTIVE = {{2, 3, 7, 9, 3, 4}, {1, 2, 5, 5, 7, 3}, {1, 4, 10, 13, 1, 1}, {1, 3, 6, 8, 6, 8},
                                     {2, 5, 9, 11, 4, 5}};

    static Stream<Arguments> windowed() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (Layout layout : Layout.values())
                    for (Case c : WINDOWED)
                        for (boolean max : new boolean[] {true, false}) out.add(Arguments.of(d, t, layout, c, max));
        });
        return out.stream();
    }

    static Stream<Arguments> adaptive() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (Layout layout : Layout.values())
                    for (int[] c : ADAPTIVE)
                        for (boolean max : new boolean[] {true, false}) out.add(Arguments.of(d, t, layout, c, max));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} max={4}")
    @MethodSource("windowed")
    void windowedMatchesReference(Device device, DType dtype, Layout layout, Case c, boolean max) {
        Pool2dParams p = c.params(layout, max);
        check(device, dtype, layout, c.image(), c.spec(max), "pool " + c + " " + p, new Pooler() {
            public PoolResult forward(Tensor x) {
                return max ? F.maxPool2dWithIndices(x, p) : new PoolResult(F.avgPool2d(x, p), null);
            }

            public Tensor backward(Tensor g, Tensor indices, long[] inputShape) {
                return max ? F.maxPool2dBackward(g, indices, inputShape, p) : F.avgPool2dBackward(g, inputShape, p);
            }
        });
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} max={4}")
    @MethodSource("adaptive")
    void adaptiveMatchesReference(Device device, DType dtype, Layout layout, int[] c, boolean max) {
        int oh = c[4], ow = c[5];
        check(device, dtype, layout, Arrays.copyOf(c, 4), PoolReference.Spec.adaptive(max, oh, ow),
                "adaptive " + Arrays.toString(c), new Pooler() {
            public PoolResult forward(Tensor x) {
                return max ? F.adaptiveMaxPool2d(x, oh, ow, layout) : new PoolResult(F.adaptiveAvgPool2d(x, oh, ow, layout), null);
            }

            public Tensor backward(Tensor g, Tensor indices, long[] inputShape) {
                return max ? F.adaptiveMaxPool2dBackward(g, indices, inputShape, layout)
                        : F.adaptiveAvgPool2dBackward(g, inputShape, layout);
            }
        });
    }

    interface Pooler {
        PoolResult forward(Tensor x);

        Tensor backward(Tensor gradOut, Tensor indices, long[] inputShape);
    }

    private static void check(Device device, DType dtype, Layout layout, int[] image, PoolReference.Spec spec, String what,
                              Pooler op) {
        try (Scope s = Scope.open()) {
            int n = image[0], c = image[1], h = image[2], w = image[3];
            int oh = spec.out(h, 0), ow = spec.out(w, 1);
            boolean nhwc = layout == Layout.NHWC;
            what += " " + dtype + " " + layout + " on " + device;
            // NCHW values, rounded to dtype (so the reference sees what the kernel reads)
            float[] xs = ActivationChecks.tensor(device, dtype, normal(n * c * h * w, 11 + h * w, 0, 1),
                    n * c * h * w).toFloatArray();
            long[] xShape = nhwc ? new long[] {n, h, w, c} : new long[] {n, c, h, w};
            long[] oShape = nhwc ? new long[] {n, oh, ow, c} : new long[] {n, c, oh, ow};
            Tensor x = ActivationChecks.tensor(device, dtype, nhwc ? Images.toNhwc(xs, n, c, h, w) : xs, xShape);
            ActivationChecks.poisonNextAllocations(dtype, device, oShape);
            PoolResult r = op.forward(x);
            assertArrayEquals(oShape, r.output().shape(), what + ": output shape");
            PoolReference.Out ref = PoolReference.forward(spec, xs, n, c, h, w);
            float[] got = r.output().toFloatArray();
            if (nhwc) got = Images.toNchw(got, n, c, oh, ow);
            Close.assertClose(ref.value(), got, spec.max() ? 0 : tol(dtype), spec.max() ? 0 : tol(dtype), what + " value");
            if (spec.max()) {
                long[] idx = r.indices().toLongArray();
                if (nhwc) idx = longs(Images.toNchw(floats(idx), n, c, oh, ow));
                assertArrayEquals(ref.index(), idx, what + " indices");
            }
            float[] gs = ActivationChecks.tensor(device, dtype, normal(n * c * oh * ow, 5 + oh, 0, 1), n * c * oh * ow)
                    .toFloatArray();
            Tensor g = ActivationChecks.tensor(device, dtype, nhwc ? Images.toNhwc(gs, n, c, oh, ow) : gs, oShape);
            ActivationChecks.poisonNextAllocations(dtype, device, xShape);
            float[] gx = op.backward(g, r.indices(), xShape).toFloatArray();
            if (nhwc) gx = Images.toNchw(gx, n, c, h, w);
            double[] gref = PoolReference.backward(spec, gs, ref.index(), n, c, h, w);
            double scale = 1;
            for (double v : gref) scale = Math.max(scale, Math.abs(v));
            Close.assertClose(gref, gx, tol(dtype), 2 * tol(dtype) * scale, what + " gradient");
        }
    }

    private static float[] floats(long[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }

    private static long[] longs(float[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = (long) v[i];
        return l;
    }

    /** NaN wins a max window (the last NaN's index, as torch); -inf everywhere keeps the first tap's index. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void nanPropagatesAndInfinityKeepsTheFirstTap(Device device) {
        try (Scope s = Scope.open()) {
            float inf = Float.NEGATIVE_INFINITY, nan = Float.NaN;
            float[] v = {1, nan, inf, inf, nan, 2, inf, inf, 2, 7, inf, inf, inf, inf, inf, inf};
            PoolResult r = F.maxPool2dWithIndices(Tensor.of(v, new long[] {1, 1, 4, 4}, device), Pool2dParams.of(2));
            float[] out = r.output().toFloatArray();
            assertTrue(Float.isNaN(out[0]), "NaN propagates: " + Arrays.toString(out));
            assertEquals(inf, out[1]);
            assertEquals(7f, out[2]);
            assertEquals(inf, out[3]);
            assertArrayEquals(new long[] {4, 2, 9, 10}, r.indices().toLongArray());
        }
    }

    /** PyTorch (checked against the reference first) on the windowed and adaptive cases, f32 NCHW. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void agreesWithTorch(Device device) {
        Oracle torch = Oracle.torch();
        List<Runnable> comparisons = new ArrayList<>();
        try (Scope s = Scope.open()) {
            for (Case c : WINDOWED)
                for (boolean max : new boolean[] {true, false}) {
                    PoolReference.Spec spec = c.spec(max);
                    Pool2dParams p = c.params(Layout.NCHW, max);
                    oracleCase(device, torch, comparisons, c.image(), spec, c + " max=" + max, x -> max
                            ? F.maxPool2d(x, p) : F.avgPool2d(x, p));
                }
            for (int[] c : ADAPTIVE)
                for (boolean max : new boolean[] {true, false}) {
                    PoolReference.Spec spec = PoolReference.Spec.adaptive(max, c[4], c[5]);
                    oracleCase(device, torch, comparisons, Arrays.copyOf(c, 4), spec, "adaptive " + Arrays.toString(c)
                            + " max=" + max, x -> max ? F.adaptiveMaxPool2d(x, c[4], c[5], Layout.NCHW).output()
                            : F.adaptiveAvgPool2d(x, c[4], c[5]));
                }
            comparisons.forEach(torch::compare);
            torch.judge();
        }
    }

    private static void oracleCase(Device device, Oracle torch, List<Runnable> comparisons, int[] image,
                                   PoolReference.Spec spec, String what, java.util.function.Function<Tensor, Tensor> op) {
        int n = image[0], c = image[1], h = image[2], w = image[3];
        float[] xs = normal(n * c * h * w, 3 + h, 0, 1);
        int[] k = spec.window();
        long[] window = k == null ? null : Arrays.stream(k).asLongStream().toArray();
        float[] gradOut = new float[n * c * spec.out(h, 0) * spec.out(w, 1)];
        Arrays.fill(gradOut, 1);
        Torch.Result t = Torch.pool2d(spec.max(), xs, new long[] {n, c, h, w}, window, spec.ceil(), spec.countIncludePad(),
                spec.divisor(), new long[] {spec.outH(), spec.outW()}, gradOut);
        PoolReference.Out ref = PoolReference.forward(spec, xs, n, c, h, w);
        torch.vet(what + " value", ref.value(), t.value(), 1e-6, 1e-6);
        torch.vet(what + " gradient", PoolReference.backward(spec, gradOut, ref.index(), n, c, h, w), t.grads()[0], 1e-6, 1e-6);
        float[] ours = op.apply(Tensor.of(xs, new long[] {n, c, h, w}, device)).toFloatArray();
        comparisons.add(() -> Close.assertClose(toDoubles(t.value()), ours, 1e-6, 1e-6, what + " vs torch"));
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
