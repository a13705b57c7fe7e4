package org.deepkern.loss;

import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.loss.LossReference.Kind;
import org.deepkern.ops.F;
import org.deepkern.ops.Reduction;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every loss, forward and backward, on every host device and floating dtype, against the double
 * reference (LossReference) on random inputs and awkward shapes; the backward also against central
 * differences of the reference; empty inputs as torch treats them.
 */
class LossTest {
    static final DType[] DTYPES = {DType.F32, DType.F16, DType.BF16};
    static final long[][] SHAPES = {{1}, {7, 13}, {3, 5, 33}, {2, 4100}, {0, 4}};

    static double rtol(DType d) {
        return d == DType.F32 ? 1e-4 : d == DType.F16 ? 4e-3 : 2e-2;
    }

    /** values in dtype on device, and the values it holds (rounded) for the reference. */
    record Input(Tensor t, float[] v) {}

    static Input input(Device dev, DType dtype, float[] values, long... shape) {
        Tensor t = Tensor.of(values, shape, dev).to(dtype);
        return new Input(t, t.toFloatArray());
    }

    static float[] uniform(int n, long seed, double lo, double hi) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return out;
    }

    static int numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return (int) n;
    }

    static void close(double[] ref, Tensor got, DType dtype, String what) {
        float[] g = got.toFloatArray();
        double scale = 0;
        for (double v : ref) scale = Math.max(scale, Math.abs(v));
        Close.assertClose(ref, g, rtol(dtype), rtol(dtype) * Math.max(1e-3, scale) * 0.1, what);
    }

    record Elementwise(String name, Kind kind, double beta, boolean posWeight) {}

    static final Elementwise[] ELEMENTWISE = {
        new Elementwise("mse", Kind.MSE, 0, false), new Elementwise("l1", Kind.L1, 0, false),
        new Elementwise("smoothL1 beta 0.7", Kind.SMOOTH_L1, 0.7, false),
        new Elementwise("smoothL1 beta 0", Kind.SMOOTH_L1, 0, false),
        new Elementwise("bce", Kind.BCE, 0, false), new Elementwise("bce posWeight", Kind.BCE, 0, true)};

    static Tensor forward(Elementwise e, Tensor x, Tensor t, Reduction r, Tensor pw) {
        return switch (e.kind()) {
            case MSE -> F.mseLoss(x, t, r);
            case L1 -> F.l1Loss(x, t, r);
            case SMOOTH_L1 -> F.smoothL1Loss(x, t, r, e.beta());
            case BCE -> F.binaryCrossEntropyWithLogits(x, t, r, pw);
        };
    }

    static Tensor backward(Elementwise e, Tensor g, Tensor x, Tensor t, Reduction r, Tensor pw) {
        return switch (e.kind()) {
            case MSE -> F.mseLossBackward(g, x, t, r);
            case L1 -> F.l1LossBackward(g, x, t, r);
            case SMOOTH_L1 -> F.smoothL1LossBackward(g, x, t, r, e.beta());
            case BCE -> F.binaryCrossEntropyWithLogitsBackward(g, x, t, r, pw);
        };
    }

    @TestFactory
    Stream<DynamicTest> elementwise() {
        List<DynamicTest> tests = new ArrayList<>();
        TestDevices.host().forEach(dev -> {
            for (Elementwise e : ELEMENTWISE)
                for (DType dtype : DTYPES)
                    for (long[] shape : SHAPES)
                        for (Reduction r : Reduction.values()) {
                            if (dtype != DType.F32 && shape.length == 3) continue;
                            String what = e.name() + " " + dtype + " " + java.util.Arrays.toString(shape) + " " + r + " on " + dev;
                            tests.add(dynamicTest(what, () -> checkElementwise(dev, e, dtype, shape, r, what)));
                        }
        });
        return tests.stream();
    }

    static void checkElementwise(Device dev, Elementwise e, DType dtype, long[] shape, Reduction r, String what) {
        int n = numel(shape);
        long seed = what.hashCode();
        try (Scope s = Scope.open()) {
            Input x = input(dev, dtype, normal(n, seed, 0, 2), shape);
            float[] tv = e.kind() == Kind.BCE ? uniform(n, seed + 1, 0, 1) : normal(n, seed + 1, 0, 1);
            Input t = input(dev, dtype, tv, shape);
            long last = shape[shape.length - 1];
            Input pw = e.posWeight() ? input(dev, dtype, uniform((int) last, seed + 2, 0.2, 3), last) : null;
            Tensor out = forward(e, x.t(), t.t(), r, pw == null ? null : pw.t());
            assertEquals(dtype, out.dtype());
            assertArrayEquals(r == Reduction.NONE ? shape : new long[0], out.shape());
            double[] ref = LossReference.elementwise(e.kind(), x.v(), t.v(), pw == null ? null : pw.v(), e.beta(), r);
            if (n == 0 && r == Reduction.MEAN) {
                assertTrue(Float.isNaN(out.toFloatArray()[0]), what + ": the mean of nothing is NaN");
            } else {
                close(ref, out, dtype, what + " value");
            }
            Input g = input(dev, dtype, normal(r == Reduction.NONE ? n : 1, seed + 3, 0, 1),
                    r == Reduction.NONE ? shape : new long[0]);
            Tensor gx = backward(e, g.t(), x.t(), t.t(), r, pw == null ? null : pw.t());
            assertArrayEquals(shape, gx.shape());
            close(LossReference.elementwiseGrad(e.kind(), x.v(), t.v(), pw == null ? null : pw.v(), e.beta(), r, g.v()),
                    gx, dtype, what + " grad");
        }
    }

    record Ce(long[] shape, long ignore, double smoothing, boolean i32, double scale) {}

    static final Ce[] CE = {
        new Ce(new long[] {1, 1}, -100, 0, false, 1), new Ce(new long[] {1, 7}, -100, 0.1, false, 1),
        new Ce(new long[] {5, 3}, 1, 0, true, 1), new Ce(new long[] {37, 100}, 3, 0.2, false, 4),
        new Ce(new long[] {33, 65}, -100, 1, true, 1), new Ce(new long[] {9, 40}, -100, 0, false, 60),
        new Ce(new long[] {0, 5}, -100, 0.1, false, 1), new Ce(new long[] {2, 5, 3, 4}, 0, 0.05, false, 1),
        new Ce(new long[] {7}, -100, 0.3, false, 1), new Ce(new long[] {4, 3}, 2, 0, false, 1)};

    static long[] targetShape(long[] shape) {
        if (shape.length == 1) return new long[0];
        long[] t = new long[shape.length - 1];
        t[0] = shape[0];
        for (int d = 2; d < shape.length; d++) t[d - 1] = shape[d];
        return t;
    }

    @TestFactory
    Stream<DynamicTest> crossEntropy() {
        List<DynamicTest> tests = new ArrayList<>();
        TestDevices.host().forEach(dev -> {
            for (Ce c : CE)
                for (DType dtype : DTYPES)
                    for (Reduction r : Reduction.values()) {
                        String what = "crossEntropy " + java.util.Arrays.toString(c.shape()) + " ignore " + c.ignore()
                                + " smoothing " + c.smoothing() + (c.i32() ? " i32" : " i64") + " " + dtype + " " + r
                                + " on " + dev;
                        tests.add(dynamicTest(what, () -> checkCrossEntropy(dev, c, dtype, r, what)));
                    }
        });
        return tests.stream();
    }

    static Tensor targets(Device dev, long[] y, long[] shape, boolean i32) {
        if (shape.length == 0) return Tensor.full(shape, y[0], i32 ? DType.I32 : DType.I64, dev);
        if (!i32) return Tensor.of(y, shape, dev);
        int[] v = new int[y.length];
        for (int i = 0; i < y.length; i++) v[i] = (int) y[i];
        return Tensor.of(v, shape, dev);
    }

    static void checkCrossEntropy(Device dev, Ce c, DType dtype, Reduction r, String what) {
        long[] shape = c.shape();
        int classes = (int) (shape.length == 1 ? shape[0] : shape[1]);
        int inner = 1;
        for (int d = 2; d < shape.length; d++) inner *= (int) shape[d];
        long[] ts = targetShape(shape);
        int rows = numel(ts);
        long seed = what.hashCode();
        Random rnd = new Random(seed);
        long[] y = new long[rows];
        for (int i = 0; i < rows; i++) y[i] = rnd.nextInt(5) == 0 && c.ignore() >= -100 ? c.ignore() : rnd.nextInt(classes);
        if (c.ignore() >= 0 && c.ignore() >= classes) throw new IllegalStateException();
        try (Scope s = Scope.open()) {
            Input x = input(dev, dtype, normal(numel(shape), seed, 0, c.scale()), shape);
            Tensor t = targets(dev, y, ts, c.i32());
            Tensor out = F.crossEntropy(x.t(), t, r, c.ignore(), c.smoothing());
            assertArrayEquals(r == Reduction.NONE ? ts : new long[0], out.shape());
            double[] ref = LossReference.crossEntropy(x.v(), y, classes, inner, c.ignore(), c.smoothing(), r);
            long counted = java.util.Arrays.stream(y).filter(v -> v != c.ignore()).count();
            if (counted == 0 && r == Reduction.MEAN) assertTrue(Float.isNaN(out.toFloatArray()[0]), what + ": NaN");
            else close(ref, out, dtype, what + " value");
            Input g = input(dev, dtype, normal(r == Reduction.NONE ? rows : 1, seed + 3, 0, 1),
                    r == Reduction.NONE ? ts : new long[0]);
            Tensor gx = F.crossEntropyBackward(g.t(), x.t(), t, r, c.ignore(), c.smoothing());
            assertArrayEquals(shape, gx.shape());
            close(LossReference.crossEntropyGrad(x.v(), y, classes, inner, c.ignore(), c.smoothing(), r, g.v()), gx,
                    dtype, what + " grad");
        }
    }

    /** A heatmap as CenterNet's: exact 1s at peaks, Gaussian falloff, zeros elsewhere. */
    static float[] heatmap(int n, long seed) {
        Random r = new Random(seed);
        float[] h = new float[n];
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(10);
            h[i] = k == 0 ? 1f : k < 4 ? (float) r.nextDouble() : 0f;
        }
        return h;
    }

    @TestFactory
    Stream<DynamicTest> centerNetFocalLoss() {
        List<DynamicTest> tests = new ArrayList<>();
        long[][] shapes = {{1}, {2, 3, 5, 7}, {1, 1, 70, 61}, {0, 3}};
        double[][] ab = {{2, 4}, {1.5, 3}, {0, 0}};
        TestDevices.host().forEach(dev -> {
            for (long[] shape : shapes)
                for (double[] p : ab)
                    for (DType dtype : DTYPES) {
                        String what = "centerNetFocalLoss " + java.util.Arrays.toString(shape) + " alpha " + p[0]
                                + " beta " + p[1] + " " + dtype + " on " + dev;
                        tests.add(dynamicTest(what, () -> {
                            int n = numel(shape);
                            long seed = what.hashCode();
                            try (Scope s = Scope.open()) {
                                Input x = input(dev, dtype, normal(n, seed, 0, 3), shape);
                                Input h = input(dev, dtype, heatmap(n, seed + 1), shape);
                                Tensor out = F.centerNetFocalLoss(x.t(), h.t(), p[0], p[1]);
                                assertArrayEquals(new long[0], out.shape());
                                close(new double[] {LossReference.focal(x.v(), h.v(), p[0], p[1])}, out, dtype, what + " value");
                                Input g = input(dev, dtype, new float[] {1.5f}, new long[0]);
                                Tensor gx = F.centerNetFocalLossBackward(g.t(), x.t(), h.t(), p[0], p[1]);
                                close(LossReference.focalGrad(x.v(), h.v(), p[0], p[1], g.v()[0]), gx, dtype, what + " grad");
                            }
                        }));
                    }
        });
        return tests.stream();
    }

    /** Central differences of a double function of x at every element, step h. */
    static double[] centralDifferences(float[] x, java.util.function.ToDoubleFunction<float[]> f, double h) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float[] p = x.clone(), m = x.clone();
            p[i] = (float) (x[i] + h);
            m[i] = (float) (x[i] - h);
            out[i] = (f.applyAsDouble(p) - f.applyAsDouble(m)) / (p[i] - m[i]);
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> backwardAgainstFiniteDifferences() {
        List<DynamicTest> tests = new ArrayList<>();
        TestDevices.host().forEach(dev -> {
            for (Elementwise e : ELEMENTWISE) {
                if (e.kind() == Kind.SMOOTH_L1 && e.beta() == 0) continue;  // same as l1
                tests.add(dynamicTest(e.name() + " on " + dev, () -> {
                    try (Scope s = Scope.open()) {
                        float[] xv = normal(12, 5, 0, 1.5f), tv = e.kind() == Kind.BCE ? uniform(12, 6, 0, 1) : normal(12, 6, 0, 1);
                        float[] pwv = e.posWeight() ? new float[] {0.5f, 2f, 1.5f, 3f} : null;
                        Tensor x = Tensor.of(xv, new long[] {3, 4}, dev), t = Tensor.of(tv, new long[] {3, 4}, dev);
                        Tensor pw = pwv == null ? null : Tensor.of(pwv, new long[] {4}, dev);
                        Tensor g = Tensor.of(new float[] {1}, new long[0], dev);
                        double[] fd = centralDifferences(xv,
                                v -> LossReference.elementwise(e.kind(), v, tv, pwv, e.beta(), Reduction.MEAN)[0], 1e-3);
                        Close.assertClose(fd, backward(e, g, x, t, Reduction.MEAN, pw).toFloatArray(), 1e-3, 1e-5, e.name());
                    }
                }));
            }
            tests.add(dynamicTest("crossEntropy on " + dev, () -> {
                try (Scope s = Scope.open()) {
                    float[] xv = normal(4 * 5, 7, 0, 2);
                    long[] y = {1, -100, 4, 0};
                    Tensor x = Tensor.of(xv, new long[] {4, 5}, dev), t = Tensor.of(y, new long[] {4}, dev);
                    Tensor g = Tensor.of(new float[] {1}, new long[0], dev);
                    double[] fd = centralDifferences(xv,
                            v -> LossReference.crossEntropy(v, y, 5, 1, -100, 0.15, Reduction.MEAN)[0], 1e-3);
                    Close.assertClose(fd, F.crossEntropyBackward(g, x, t, Reduction.MEAN, -100, 0.15).toFloatArray(),
                            1e-3, 1e-5, "crossEntropy");
                }
            }));
            tests.add(dynamicTest("centerNetFocalLoss on " + dev, () -> {
                try (Scope s = Scope.open()) {
                    float[] xv = normal(20, 8, 0, 2), hv = heatmap(20, 9);
                    hv[3] = 1;
                    Tensor x = Tensor.of(xv, new long[] {20}, dev), h = Tensor.of(hv, new long[] {20}, dev);
                    Tensor g = Tensor.of(new float[] {1}, new long[0], dev);
                    double[] fd = centralDifferences(xv, v -> LossReference.focal(v, hv, 2, 4), 1e-3);
                    Close.assertClose(fd, F.centerNetFocalLossBackward(g, x, h, 2, 4).toFloatArray(), 1e-3, 1e-5, "focal");
                }
            }));
        });
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> emptyAsTorch() {
        return TestDevices.host().map(dev -> dynamicTest("empty on " + dev, () -> {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.zeros(new long[] {0, 3}, DType.F32, dev), t = Tensor.zeros(new long[] {0, 3}, DType.F32, dev);
                assertTrue(Float.isNaN(F.mseLoss(x, t, Reduction.MEAN).toFloatArray()[0]));
                assertEquals(0f, F.mseLoss(x, t, Reduction.SUM).toFloatArray()[0]);
                assertArrayEquals(new long[] {0, 3}, F.mseLoss(x, t, Reduction.NONE).shape());
                Tensor y = Tensor.of(new long[0], new long[] {0}, dev);
                assertTrue(Float.isNaN(F.crossEntropy(x, y).toFloatArray()[0]));
                assertEquals(0f, F.crossEntropy(x, y, Reduction.SUM, -100, 0.1).toFloatArray()[0]);
                assertEquals(0f, F.centerNetFocalLoss(x, t, 2, 4).toFloatArray()[0]);
                Tensor g = Tensor.of(new float[] {1}, new long[0], dev);
                assertArrayEquals(new long[] {0, 3}, F.crossEntropyBackward(g, x, y, Reduction.MEAN, -100, 0).shape());
                // every row ignored: the mean is NaN and the gradient 0, as torch
                Tensor x2 = Tensor.of(normal(6, 1, 0, 1), new long[] {2, 3}, dev);
                Tensor y2 = Tensor.of(new long[] {-100, -100}, new long[] {2}, dev);
                assertTrue(Float.isNaN(F.crossEntropy(x2, y2).toFloatArray()[0]));
                assertArrayEquals(new float[6], F.crossEntropyBackward(g, x2, y2, Reduction.MEAN, -100, 0).toFloatArray());
            }
        }));
    }

    /** Strided views read through a compact copy: the same answer as the compact tensor. */
    @TestFactory
    Stream<DynamicTest> views() {
        return TestDevices.host().map(dev -> dynamicTest("views on " + dev, () -> {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.of(normal(6 * 9, 11, 0, 1), new long[] {6, 9}, dev);
                Tensor t = Tensor.of(normal(6 * 9, 12, 0, 1), new long[] {9, 6}, dev);
                Tensor xt = x.transpose(0, 1), tc = t.to(DType.F32);
                Tensor xc = xt.contiguous();
                assertArrayEquals(F.mseLoss(xc, tc, Reduction.SUM).toFloatArray(), F.mseLoss(xt, t, Reduction.SUM).toFloatArray());
                Tensor logits = x.narrow(1, 2, 5);
                Tensor y = Tensor.of(new long[] {0, 4, 2, 1, 3, 0}, new long[] {6}, dev);
                assertArrayEquals(F.crossEntropy(logits.contiguous(), y).toFloatArray(), F.crossEntropy(logits, y).toFloatArray());
                assertArrayEquals(F.crossEntropyBackward(Tensor.of(new float[] {1}, new long[0], dev), logits.contiguous(), y,
                        Reduction.MEAN, -100, 0).toFloatArray(),
                        F.crossEntropyBackward(Tensor.of(new float[] {1}, new long[0], dev), logits, y, Reduction.MEAN, -100, 0)
                                .toFloatArray());
            }
        }));
    }
}
