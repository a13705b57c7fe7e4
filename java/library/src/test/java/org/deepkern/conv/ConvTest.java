package org.deepkern.conv;

import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import static org.deepkern.conv.ConvReference.abs;
import static org.deepkern.conv.ConvReference.fromLast;
import static org.deepkern.conv.ConvReference.toLast;
import static org.deepkern.testing.Close.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.conv.ConvReference.TGeom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * conv2d forward, data gradient, weight and bias gradients and conv_transpose2d on cpu and emu,
 * both layouts, against the double-precision reference (ConvReference). Outputs are NaN-poisoned
 * before each run. Tolerance per element: 1e-5 (f32) or 1e-2 (bf16 / f16) of the sum of |terms|.
 */
class ConvTest {
    /** Fixed shapes covering the list, then seeded random ones. */
    static List<Geom> geoms() {
        List<Geom> g = new ArrayList<>(List.of(
                new Geom(1, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                new Geom(2, 3, 7, 7, 5, 5, 5, 2, 2, 2, 1, 0, 2, 1, 1, 1),     // asymmetric padding, stride 2
                new Geom(1, 4, 7, 7, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2),     // dilation 2, groups 2
                new Geom(1, 6, 7, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6),     // depthwise, stride 2
                new Geom(1, 3, 7, 7, 2, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 1),     // 7x7
                new Geom(2, 5, 6, 9, 7, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1),     // 1x1, stride 2
                new Geom(1, 10, 7, 7, 12, 3, 3, 1, 1, 1, 0, 0, 1, 2, 1, 2),   // red 45 > one tile, mixed dilation
                new Geom(1, 4, 7, 7, 8, 5, 5, 1, 1, 4, 4, 4, 4, 2, 2, 4),     // depthwise multiplier 2, 5x5 dil 2
                new Geom(2, 3, 9, 9, 70, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1)));  // 162 x 70: several tiles each way
        Random rnd = new Random(20261127);
        int[] kernels = {1, 3, 5, 7};
        while (g.size() < 15) {
            int groups = 1 + rnd.nextInt(3);
            int c = groups * (1 + rnd.nextInt(4)), k = groups * (1 + rnd.nextInt(3));
            int r = kernels[rnd.nextInt(4)], s = kernels[rnd.nextInt(4)];
            int sh = 1 + rnd.nextInt(2), sw = 1 + rnd.nextInt(2), dh = 1 + rnd.nextInt(2), dw = 1 + rnd.nextInt(2);
            int h = 3 + rnd.nextInt(8), w = 3 + rnd.nextInt(8);
            int pt = rnd.nextInt(3), pb = rnd.nextInt(3), pl = rnd.nextInt(3), pr = rnd.nextInt(3);
            if (h + pt + pb < dh * (r - 1) + 1 || w + pl + pr < dw * (s - 1) + 1) continue;
            g.add(new Geom(1 + rnd.nextInt(2), c, h, w, k, r, s, sh, sw, pt, pb, pl, pr, dh, dw, groups));
        }
        return g;
    }

    static List<TGeom> tgeoms() {
        return List.of(
                new TGeom(1, 3, 5, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
                new TGeom(2, 4, 4, 6, 6, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 2),
                new TGeom(1, 6, 5, 5, 6, 5, 5, 2, 2, 2, 2, 0, 1, 1, 1, 3),
                new TGeom(1, 4, 3, 3, 2, 2, 2, 3, 3, 0, 0, 2, 2, 1, 1, 1),
                new TGeom(1, 5, 7, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5),
                new TGeom(2, 3, 7, 7, 5, 7, 7, 1, 2, 3, 1, 0, 1, 1, 2, 1));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        List<Geom> gs = geoms();
        TestDevices.host().forEach(d -> {
            for (Layout l : Layout.values())
                for (Geom g : gs) out.add(Arguments.of(d, l, g));
        });
        return out.stream();
    }

    static Stream<Arguments> tcases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (Layout l : Layout.values())
                for (TGeom g : tgeoms()) out.add(Arguments.of(d, l, g));
        });
        return out.stream();
    }

    static double[] randn(Random rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    /** Values exact in bf16 and f16: multiples of 1/8 in [-1, 1]. */
    static double[] eighths(Random rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (rnd.nextInt(17) - 8) / 8.0;
        return v;
    }

    static float[] f(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) v[i];
        return out;
    }

    /** A device tensor of dtype holding v (given NCHW-ordered [a, b, c, d]), permuted to channels-last when nhwc. */
    static Tensor upload(Device d, DType t, double[] v, boolean nhwc, int a, int b, int c, int e) {
        double[] data = nhwc ? toLast(v, a, b, c, e) : v;
        long[] shape = nhwc ? new long[] {a, c, e, b} : new long[] {a, b, c, e};
        Tensor f32 = Tensor.of(f(data), shape, d);
        if (t == DType.F32) return f32;
        try (f32) {
            return f32.to(t);
        }
    }

    static Tensor poisoned(Device d, DType t, boolean nhwc, int a, int b, int c, int e) {
        return Tensor.full(nhwc ? new long[] {a, c, e, b} : new long[] {a, b, c, e}, Double.NaN, t, d);
    }

    static double[] download(Tensor t, boolean nhwc, int a, int b, int c, int e) {
        float[] v = t.toFloatArray();
        if (nhwc) return fromLast(v, a, b, c, e);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    static void check(double[] ref, double[] scale, double[] got, double tol, String what) {
        assertClose(ref, f(got), 0, i -> tol * scale[i] + 1e-30, what);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void forwardAndGradients(Device d, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() * 31L + layout.ordinal());
        boolean nhwc = layout == Layout.NHWC;
        double[] x = randn(rnd, g.xSize()), w = randn(rnd, g.wSize()), b = randn(rnd, g.k()), gy = randn(rnd, g.ySize());
        Conv2dParams p = g.params(layout);
        int P = g.p(), Q = g.q();
        try (Scope scope = Scope.open()) {
            Tensor tx = upload(d, DType.F32, x, nhwc, g.n(), g.c(), g.h(), g.w());
            Tensor tw = upload(d, DType.F32, w, nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = Tensor.of(f(b), new long[] {g.k()}, d);
            Tensor tgy = upload(d, DType.F32, gy, nhwc, g.n(), g.k(), P, Q);

            Tensor y = poisoned(d, DType.F32, nhwc, g.n(), g.k(), P, Q);
            F.conv2d(tx, tw, tb, null, p, y);
            check(ConvReference.forward(g, x, w, b), ConvReference.forward(g, abs(x), abs(w), abs(b)),
                    download(y, nhwc, g.n(), g.k(), P, Q), 1e-5, "forward " + d + " " + layout + " " + g);

            Tensor dx = poisoned(d, DType.F32, nhwc, g.n(), g.c(), g.h(), g.w());
            F.conv2dBackwardData(tgy, tw, p, dx);
            check(ConvReference.backwardData(g, gy, w), ConvReference.backwardData(g, abs(gy), abs(w)),
                    download(dx, nhwc, g.n(), g.c(), g.h(), g.w()), 1e-5, "grad x " + d + " " + layout + " " + g);

            Tensor dw = poisoned(d, DType.F32, nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor db = Tensor.full(new long[] {g.k()}, Double.NaN, DType.F32, d);
            F.conv2dBackwardWeight(tx, tgy, p, dw, db);
            check(ConvReference.backwardWeight(g, x, gy), ConvReference.backwardWeight(g, abs(x), abs(gy)),
                    download(dw, nhwc, g.k(), g.cg(), g.r(), g.s()), 1e-5, "grad w " + d + " " + layout + " " + g);
            float[] dbGot = db.toFloatArray();
            double[] dbGotD = new double[dbGot.length];
            for (int i = 0; i < dbGot.length; i++) dbGotD[i] = dbGot[i];
            check(ConvReference.backwardBias(g, gy), ConvReference.backwardBias(g, abs(gy)), dbGotD, 1e-5,
                    "grad bias " + d + " " + layout + " " + g);
        }
    }

    /**
     * cpu only (too slow for emu): reductions long enough (C/g * R * S = 576) over enough pixels
     * (4096) that the cpu backend's forward splits the output into many tasks and its gradients
     * stage dy and im2col in several blocks, with and without groups.
     */
    static Stream<Arguments> cpuBlockCases() {
        List<Arguments> out = new ArrayList<>();
        for (Layout l : Layout.values())
            for (Geom g : List.of(new Geom(1, 64, 64, 64, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                    new Geom(1, 128, 64, 64, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)))
                out.add(Arguments.of(Device.CPU, l, g));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cpuBlockCases")
    void cpuBlocks(Device d, Layout layout, Geom g) {
        forwardAndGradients(d, layout, g);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("tcases")
    void transposed(Device d, Layout layout, TGeom g) {
        Random rnd = new Random(g.hashCode() * 17L + layout.ordinal());
        boolean nhwc = layout == Layout.NHWC;
        double[] x = randn(rnd, g.n() * g.cin() * g.h() * g.w()), w = randn(rnd, g.cin() * g.cog() * g.r() * g.s()),
                b = randn(rnd, g.cout());
        try (Scope scope = Scope.open()) {
            Tensor tx = upload(d, DType.F32, x, nhwc, g.n(), g.cin(), g.h(), g.w());
            Tensor tw = upload(d, DType.F32, w, nhwc, g.cin(), g.cog(), g.r(), g.s());
            Tensor tb = Tensor.of(f(b), new long[] {g.cout()}, d);
            Tensor y = poisoned(d, DType.F32, nhwc, g.n(), g.cout(), g.ho(), g.wo());
            F.convTranspose2d(tx, tw, tb, g.params(layout), y);
            check(ConvReference.transpose(g, x, w, b), ConvReference.transpose(g, abs(x), abs(w), abs(b)),
                    download(y, nhwc, g.n(), g.cout(), g.ho(), g.wo()), 1e-5, "conv_transpose2d " + d + " " + layout + " " + g);
            // the allocating form computes the same shape
            try (Tensor y2 = F.convTranspose2d(tx, tw, tb, g.params(layout))) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(y.shape(), y2.shape());
            }
        }
    }

    static Stream<Arguments> halfCases() {
        List<Arguments> out = new ArrayList<>();
        List<Geom> gs = geoms();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.BF16, DType.F16})
                for (Layout l : Layout.values())
                    for (int i : new int[] {1, 2, 6}) out.add(Arguments.of(d, t, l, gs.get(i)));
        });
        return out.stream();
    }

    /** bf16 / f16 storage, f32 math: inputs exact in the dtype, so only the output's rounding is off. */
    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("halfCases")
    void halfPrecision(Device d, DType t, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() + 7L * t.ordinal());
        boolean nhwc = layout == Layout.NHWC;
        double[] x = eighths(rnd, g.xSize()), w = eighths(rnd, g.wSize()), b = eighths(rnd, g.k()), gy = eighths(rnd, g.ySize());
        Conv2dParams p = g.params(layout);
        int P = g.p(), Q = g.q();
        double tol = t == DType.BF16 ? 1e-2 : 2e-3;
        try (Scope scope = Scope.open()) {
            Tensor tx = upload(d, t, x, nhwc, g.n(), g.c(), g.h(), g.w());
            Tensor tw = upload(d, t, w, nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = upload(d, t, b, false, 1, 1, 1, g.k()).reshape(g.k());
            Tensor tgy = upload(d, t, gy, nhwc, g.n(), g.k(), P, Q);
            Tensor y = poisoned(d, t, nhwc, g.n(), g.k(), P, Q);
            F.conv2d(tx, tw, tb, null, p, y);
            check(ConvReference.forward(g, x, w, b), ConvReference.forward(g, abs(x), abs(w), abs(b)),
                    download(y, nhwc, g.n(), g.k(), P, Q), tol, "forward " + t + " " + d + " " + layout + " " + g);
            Tensor dx = poisoned(d, t, nhwc, g.n(), g.c(), g.h(), g.w());
            F.conv2dBackwardData(tgy, tw, p, dx);
            check(ConvReference.backwardData(g, gy, w), ConvReference.backwardData(g, abs(gy), abs(w)),
                    download(dx, nhwc, g.n(), g.c(), g.h(), g.w()), tol, "grad x " + t + " " + d + " " + layout + " " + g);
            Tensor dw = poisoned(d, t, nhwc, g.k(), g.cg(), g.r(), g.s());
            F.conv2dBackwardWeight(tx, tgy, p, dw, null);
            check(ConvReference.backwardWeight(g, x, gy), ConvReference.backwardWeight(g, abs(x), abs(gy)),
                    download(dw, nhwc, g.k(), g.cg(), g.r(), g.s()), tol, "grad w " + t + " " + d + " " + layout + " " + g);
        }
    }
}
