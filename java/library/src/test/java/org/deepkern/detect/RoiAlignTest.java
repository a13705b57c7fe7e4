package org.deepkern.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.testing.Close;
import org.deepkern.testing.EmuSchedules;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * RoIAlign, forward and backward, against RoiAlignReference (double, from torchvision's formulas) on
 * every host device and floating dtype: odd image sizes, a 1 x 1 and a one-row image, rois crossing
 * the borders, tiny, empty, inverted and huge ones, fixed and adaptive sampling, both alignments,
 * spatial scales 1 to 0.125, and the defined outcomes torchvision lacks (batch index out of range or
 * NaN, NaN and infinite corners: zeros and no gradient). The backward is checked against the
 * reference's scatter and, in double on the device's own outputs, as the forward's adjoint:
 * {@code <g, roiAlign(x)> == <roiAlignBackward(g), x>}. Outputs are poisoned (NaN) before each call.
 * No PyTorch oracle: libtorch through the presets has no torchvision ops.
 */
class RoiAlignTest {
    /** Relative tolerance of the final rounding to dtype. */
    static double rtol(DType t) {
        return t == DType.F32 ? 1e-6 : t == DType.F16 ? 1e-3 : 8e-3;
    }

    /** Absolute tolerance of the final rounding: f16's subnormals are 2^-24 apart. */
    static double atol(DType t) {
        return t == DType.F16 ? 0x1p-24 : 1e-30;
    }

    /** Relative tolerance of f32 sums (of up to a few hundred terms) against the magnitude of their terms. */
    static final double SUM_TOL = 4e-6;

    /**
     * One configuration: image [n, c, h, w], k rois, output outH x outW, spatialScale, samplingRatio,
     * aligned, and a seed.
     */
    record Case(int n, int c, int h, int w, int k, int outH, int outW, double scale, int ratio, boolean aligned, long seed) {
        @Override
        public String toString() {
            return "x[" + n + "," + c + "," + h + "," + w + "] k=" + k + " out " + outH + "x" + outW + " scale " + scale
                    + " ratio " + ratio + (aligned ? " aligned" : "");
        }

        RoiAlignReference reference() {
            return new RoiAlignReference(n, c, h, w, outH, outW, scale, ratio, aligned);
        }
    }

    static final Case[] CASES = {
        new Case(2, 3, 7, 9, 12, 2, 3, 0.25, -1, false, 1),
        new Case(2, 3, 7, 9, 12, 2, 3, 0.25, -1, true, 2),
        new Case(1, 2, 13, 5, 9, 3, 3, 0.5, 2, true, 3),
        new Case(1, 2, 13, 5, 9, 3, 3, 0.5, 2, false, 4),
        new Case(3, 1, 1, 1, 6, 2, 2, 1.0, 0, false, 5),          // a 1 x 1 image
        new Case(2, 2, 1, 6, 7, 1, 4, 0.125, 3, true, 6),         // one row
        new Case(2, 2, 33, 17, 20, 7, 7, 0.25, 2, true, 7),       // several row tiles
        new Case(1, 3, 10, 70, 40, 5, 4, 0.125, -1, false, 8),    // several column tiles
        new Case(2, 1, 6, 11, 300, 2, 2, 0.5, 1, true, 9),        // more rois than one chunk of the gather
        new Case(2, 2, 9, 8, 10, 1, 1, 1.0, -1, true, 10),        // one bin per roi
        new Case(0, 2, 4, 4, 3, 2, 2, 1.0, 2, false, 11),         // no images: every batch index out of range
        new Case(2, 2, 5, 5, 0, 3, 3, 1.0, 2, false, 12),         // no rois: a zero gradient
        new Case(1, 0, 5, 5, 3, 2, 2, 1.0, 2, false, 13),         // no channels
    };

    /**
     * k rois (batch index, x1, y1, x2, y2) in image coordinates for an h x w feature map at scale s:
     * regular ones crossing the borders, tiny, empty, inverted, huge and far-outside ones, corners on
     * half-pixel grid points (positions landing exactly on -1, 0 and the borders), and a few with a
     * batch index out of range, fractional (truncated), NaN, or a NaN / infinite corner.
     */
    static float[] boxes(Random r, int k, int n, int h, int w, double s) {
        float[] b = new float[5 * k];
        double iw = w / s, ih = h / s;
        for (int i = 0; i < k; i++) {
            double x1, y1, x2, y2;
            switch (r.nextInt(7)) {
                case 0 -> {  // tiny (below a pixel of the map) or empty
                    x1 = (r.nextDouble() * 1.2 - 0.1) * iw;
                    y1 = (r.nextDouble() * 1.2 - 0.1) * ih;
                    x2 = x1 + r.nextDouble() * 0.9 / s * r.nextInt(2);
                    y2 = y1 + r.nextDouble() * 0.9 / s;
                }
                case 1 -> {  // inverted
                    x1 = r.nextDouble() * iw;
                    y1 = r.nextDouble() * ih;
                    x2 = x1 - r.nextDouble() * 3 / s;
                    y2 = y1 - r.nextDouble() * 3 / s;
                }
                case 2 -> {  // huge: several times the image
                    x1 = -(1 + 2 * r.nextDouble()) * iw;
                    y1 = -(1 + 2 * r.nextDouble()) * ih;
                    x2 = (2 + 2 * r.nextDouble()) * iw;
                    y2 = (2 + 2 * r.nextDouble()) * ih;
                }
                case 3 -> {  // corners on half-pixel grid points of the map, around and on the borders
                    x1 = (r.nextInt(2 * w + 6) - 4) * 0.5 / s;
                    y1 = (r.nextInt(2 * h + 6) - 4) * 0.5 / s;
                    x2 = x1 + r.nextInt(2 * w + 4) * 0.5 / s;
                    y2 = y1 + r.nextInt(2 * h + 4) * 0.5 / s;
                }
                case 4 -> {  // outside the image
                    x1 = iw + 2 / s + r.nextDouble() * iw;
                    y1 = -ih * r.nextDouble();
                    x2 = x1 + iw;
                    y2 = y1 + ih;
                }
                default -> {  // regular, crossing the borders
                    x1 = (r.nextDouble() * 1.3 - 0.2) * iw;
                    y1 = (r.nextDouble() * 1.3 - 0.2) * ih;
                    x2 = x1 + r.nextDouble() * 0.8 * iw;
                    y2 = y1 + r.nextDouble() * 0.8 * ih;
                }
            }
            double index = n == 0 ? 0 : r.nextInt(n);
            switch (r.nextInt(16)) {
                case 0 -> index = n;               // out of range
                case 1 -> index = -1;              // out of range
                case 2 -> index = Double.NaN;
                case 3 -> index = n - 0.5;         // truncated to n - 1
                case 4 -> index = -0.5;            // truncated to 0
                case 5 -> index = 1e20;            // out of range (and of int64)
                case 6 -> x2 = Double.NaN;
                case 7 -> y1 = Double.POSITIVE_INFINITY;
                default -> {}
            }
            double[] row = {index, x1, y1, x2, y2};
            for (int j = 0; j < 5; j++) b[5 * i + j] = (float) row[j];
        }
        return b;
    }

    static float[] normal(Random r, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    static Stream<Arguments> devicesDtypesCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : ActivationChecks.DTYPES)
                for (Case c : CASES) out.add(Arguments.of(d, t, c));
        });
        return out.stream();
    }

    /** The inputs of one case on a device: x, boxes and grad in dtype, and their values as rounded there. */
    record Inputs(Tensor x, Tensor boxes, Tensor grad, float[] xs, float[] bs, float[] gs) {
        static Inputs of(Device d, DType t, Case c) {
            Random r = new Random(c.seed());
            float[] x = normal(r, c.n() * c.c() * c.h() * c.w());
            float[] b = RoiAlignTest.boxes(r, c.k(), c.n(), c.h(), c.w(), c.scale());
            float[] g = normal(r, c.k() * c.c() * c.outH() * c.outW());
            Tensor tx = ActivationChecks.tensor(d, t, x, c.n(), c.c(), c.h(), c.w());
            Tensor tb = ActivationChecks.tensor(d, t, b, c.k(), 5);
            Tensor tg = ActivationChecks.tensor(d, t, g, c.k(), c.c(), c.outH(), c.outW());
            return new Inputs(tx, tb, tg, tx.toFloatArray(), tb.toFloatArray(), tg.toFloatArray());
        }
    }

    static long[] outShape(Case c) {
        return new long[] {c.k(), c.c(), c.outH(), c.outW()};
    }

    static long[] inShape(Case c) {
        return new long[] {c.n(), c.c(), c.h(), c.w()};
    }

    static Tensor forward(Inputs in, Case c) {
        return Detect.roiAlign(in.x(), in.boxes(), c.outH(), c.outW(), c.scale(), c.ratio(), c.aligned());
    }

    static Tensor backward(Inputs in, Case c) {
        return Detect.roiAlignBackward(in.grad(), in.boxes(), inShape(c), c.scale(), c.ratio(), c.aligned());
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("devicesDtypesCases")
    void againstReference(Device d, DType t, Case c) {
        try (Scope s = Scope.open()) {
            Inputs in = Inputs.of(d, t, c);
            RoiAlignReference ref = c.reference();
            String what = "roiAlign " + c + " " + t + " on " + d;

            ActivationChecks.poisonNextAllocations(t, d, outShape(c));
            Tensor out = forward(in, c);
            assertArrayEquals(outShape(c), out.shape(), what + ": shape");
            assertEquals(t, out.dtype(), what + ": dtype");
            float[] got = out.toFloatArray();
            double[][] want = ref.forward(doubles(in.xs()), in.bs(), c.k());
            Close.assertClose(want[0], got, rtol(t), i -> SUM_TOL * want[1][i] + atol(t), what);

            ActivationChecks.poisonNextAllocations(t, d, inShape(c));
            Tensor gx = backward(in, c);
            assertArrayEquals(inShape(c), gx.shape(), what + " backward: shape");
            float[] gotGrad = gx.toFloatArray();
            double[][] wantGrad = ref.backward(doubles(in.gs()), in.bs(), c.k());
            Close.assertClose(wantGrad[0], gotGrad, rtol(t), i -> SUM_TOL * wantGrad[1][i] + atol(t), what + " backward");

            // the adjoint identity on the device's own results, in double
            double lhs = 0, rhs = 0, scale = 0;
            for (int i = 0; i < got.length; i++) {
                lhs += (double) in.gs()[i] * got[i];
                scale += Math.abs((double) in.gs()[i] * want[1][i]);
            }
            for (int i = 0; i < gotGrad.length; i++) rhs += (double) gotGrad[i] * in.xs()[i];
            double tol = 4 * rtol(t) * scale + 1e-12;
            assertTrue(Math.abs(lhs - rhs) <= tol, what + ": <g, roiAlign(x)> = " + lhs + " but <roiAlignBackward(g), x> = "
                    + rhs + " (tolerance " + tol + ")");
        }
    }

    /** The rois the boxes generator marks as having no samples give exactly zero, and no gradient. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void invalidRoisGiveZeros(Device d) {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        float[] b = {
            2, 0, 0, 8, 8,      // batch index N
            -1, 0, 0, 8, 8,     // -1
            nan, 0, 0, 8, 8,    // NaN
            1e20f, 0, 0, 8, 8,  // beyond int64
            0, nan, 0, 8, 8,    // a NaN corner
            1, 0, 0, inf, 8,    // an infinite corner
            0, -3.4e38f, 0, 3.4e38f, 8,  // a size that overflows f32
            1.9f, 0, 0, 8, 8,   // valid: image 1
        };
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(normal(new Random(3), 2 * 3 * 6 * 7), new long[] {2, 3, 6, 7}, d);
            Tensor boxes = Tensor.of(b, new long[] {8, 5}, d);
            float[] out = Detect.roiAlign(x, boxes, 2, 3, 1.0, -1, true).toFloatArray();
            for (int i = 0; i < 7 * 3 * 6; i++) assertEquals(0f, out[i], "roi " + i / 18 + " element " + i % 18);
            boolean any = false;
            for (int i = 7 * 18; i < 8 * 18; i++) any |= out[i] != 0;
            assertTrue(any, "batch index 1.9 reads image 1");
            float[] g = new float[8 * 3 * 6];
            Arrays.fill(g, 0, 7 * 18, 1f);  // gradient on the invalid rois only
            Tensor grad = Tensor.of(g, new long[] {8, 3, 2, 3}, d);
            float[] gx = Detect.roiAlignBackward(grad, boxes, new long[] {2, 3, 6, 7}, 1.0, -1, true).toFloatArray();
            for (int i = 0; i < gx.length; i++) assertEquals(0f, gx[i], "gradient element " + i);
        }
    }

    /**
     * One sample exactly on each side of the bilinear rule's borders: at -1 and H (read, as the first
     * and last pixel), a half pixel beyond them (0), and on 0 and H - 1 - on both axes, every pair.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void samplesOnTheBorders(Device d) {
        int h = 4, w = 5;
        float[] ys = {-1.5f, -1, -0.5f, 0, 2.5f, 3, 3.5f, 4, 4.5f}, xs = {-1.5f, -1, 0, 4, 4.5f, 5, 5.5f};
        int k = ys.length * xs.length;
        float[] b = new float[5 * k];
        for (int i = 0; i < k; i++) {
            float cy = ys[i / xs.length], cx = xs[i % xs.length];
            // a 1 x 1 roi with one sample: at its centre
            float[] row = {0, cx - 0.5f, cy - 0.5f, cx + 0.5f, cy + 0.5f};
            System.arraycopy(row, 0, b, 5 * i, 5);
        }
        Case c = new Case(1, 1, h, w, k, 1, 1, 1.0, 1, false, 31);
        try (Scope s = Scope.open()) {
            Random r = new Random(c.seed());
            float[] x = normal(r, h * w), g = normal(r, k);
            Inputs in = new Inputs(Tensor.of(x, inShape(c), d), Tensor.of(b, new long[] {k, 5}, d), Tensor.of(g, outShape(c), d),
                    x, b, g);
            float[] out = forward(in, c).toFloatArray();
            RoiAlignReference ref = c.reference();
            double[][] want = ref.forward(doubles(x), b, k);
            Close.assertClose(want[0], out, 1e-6, i -> SUM_TOL * want[1][i] + 1e-30, "borders on " + d);
            // the corners: (-1, -1) reads pixel (0, 0), (4, 5) = (H, W) pixel (3, 4); half a pixel out is 0
            assertEquals(x[0], out[1 * xs.length + 1], "(y, x) = (-1, -1)");
            assertEquals(x[3 * w + 4], out[7 * xs.length + 5], "(y, x) = (H, W)");
            assertEquals(0f, out[8 * xs.length + 3], "y = H + 0.5");
            assertEquals(0f, out[2 * xs.length], "x = -1.5");
            double[][] wantGrad = ref.backward(doubles(g), b, k);
            Close.assertClose(wantGrad[0], backward(in, c).toFloatArray(), 1e-6, i -> SUM_TOL * wantGrad[1][i] + 1e-30,
                    "borders on " + d + " backward");
        }
    }

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    /**
     * A roi a million pixels a side with adaptive sampling (a grid of 10^6 x 10^6 samples per bin) runs
     * in the time the image's own samples take, and a fixed ratio of 300 on a small roi visits its
     * 9 10^4 samples a bin: both against the reference.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void hugeGrids(Device d) {
        Case c = new Case(1, 2, 9, 11, 2, 2, 2, 1.0, -1, false, 21);
        float[] b = {0, -1e6f, -1e6f, 1e6f, 1e6f, 0, -2e6f, 3, 1e6f, 5.5f};
        Case fixed = new Case(1, 1, 9, 11, 1, 2, 2, 0.5, 300, true, 22);
        float[] bf = {0, 3, 2, 17, 13};
        for (Object[] run : new Object[][] {{c, b}, {fixed, bf}}) {
            Case k = (Case) run[0];
            float[] boxes = (float[]) run[1];
            try (Scope s = Scope.open()) {
                Random r = new Random(k.seed());
                float[] x = normal(r, k.n() * k.c() * k.h() * k.w()), g = normal(r, k.k() * k.c() * k.outH() * k.outW());
                Inputs in = new Inputs(Tensor.of(x, inShape(k), d), Tensor.of(boxes, new long[] {k.k(), 5}, d),
                        Tensor.of(g, outShape(k), d), x, boxes, g);
                RoiAlignReference ref = k.reference();
                // sums of up to ~10^5 terms in f32: a wider bound than SUM_TOL
                double sumTol = 1e-4;
                double[][] want = ref.forward(doubles(x), boxes, k.k());
                Close.assertClose(want[0], forward(in, k).toFloatArray(), 1e-6, i -> sumTol * want[1][i] + 1e-30, "huge " + k);
                double[][] wantGrad = ref.backward(doubles(g), boxes, k.k());
                Close.assertClose(wantGrad[0], backward(in, k).toFloatArray(), 1e-6, i -> sumTol * wantGrad[1][i] + 1e-30,
                        "huge " + k + " backward");
            }
        }
    }

    static float[][] run(Device d, DType t, Case c) {
        try (Scope s = Scope.open()) {
            Inputs in = Inputs.of(d, t, c);
            return new float[][] {forward(in, c).toFloatArray(), backward(in, c).toFloatArray()};
        }
    }

    /**
     * Every backend computes the same f32 roundings in the same order (deepkern.h): each host device
     * (and cuda, where the GPU check names it) gives the cpu's bits, forward and backward.
     */
    @Test
    void sameBitsOnEveryBackend() {
        List<Device> others = TestDevices.host().filter(d -> d.type() != Device.Type.CPU).toList();
        for (Case c : new Case[] {CASES[1], CASES[6], CASES[8]})
            for (DType t : ActivationChecks.DTYPES) {
                float[][] cpu = run(Device.CPU, t, c);
                for (Device d : others) {
                    float[][] got = run(d, t, c);
                    assertArrayEquals(cpu[0], got[0], "forward " + c + " " + t + " on " + d + " vs cpu");
                    assertArrayEquals(cpu[1], got[1], "backward " + c + " " + t + " on " + d + " vs cpu");
                }
            }
    }

    /**
     * The backward's shared roi list between barriers: the same bits under every emulated thread order,
     * and the cpu's.
     */
    @Test
    void backwardInEveryEmulatedOrder() {
        EmuSchedules.assumeEmu();
        for (Case c : new Case[] {CASES[6], CASES[8]}) {
            float[][] cpu = run(Device.CPU, DType.F32, c);
            float[][] emu = EmuSchedules.sameInEveryOrder("roiAlign " + c, c.seed(), 2, 0f, () -> run(Device.EMU, DType.F32, c));
            assertArrayEquals(cpu[1], emu[1], "backward " + c + " on emu vs cpu");
        }
    }
}
