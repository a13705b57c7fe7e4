package org.deepkern.conv;

import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import static org.deepkern.conv.ConvReference.abs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every path of the kernel dispatch (kernels/conv/conv2d.cu) on the shapes - N = 1, H = W = 7,
 * C = 3 (6 for groups 2), kernel 1 / 3 / 5 / 7, stride 1 / 2, dilation 1 / 2, groups 1 / 2 / C,
 * both layouts - on cpu and emu against the double reference: the forward (with bias, and fused
 * silu + residual), the data gradient (the implicit GEMM over stride residue classes), the weight
 * and bias gradients; and that F.conv2dAlgorithm names the path the dispatch was meant to take:
 * gemm_1x1 (NHWC 1x1 stride 1 groups 1), depthwise (groups == C), implicit_gemm_fma otherwise
 * (f32); on cpu direct_depthwise (groups == C == K) or im2col_gemm. Extra shapes reach the depthwise NCHW per-output fallback (a window too
 * large for shared memory) and the weight gradient's split reduction (more than 256 pixels), and
 * bf16 / f16 run the new paths with inputs exact in the dtype.
 */
class ConvPathTest {
    static List<Geom> sweep() {
        List<Geom> out = new ArrayList<>();
        for (int groupsKind = 0; groupsKind < 3; groupsKind++)
            for (int r : new int[] {1, 3, 5, 7})
                for (int stride = 1; stride <= 2; stride++)
                    for (int dil = 1; dil <= 2; dil++) {
                        int c = groupsKind == 1 ? 6 : 3, groups = groupsKind == 0 ? 1 : groupsKind == 1 ? 2 : c;
                        int k = groupsKind == 0 ? 5 : groupsKind == 1 ? 4 : c * dil;  // depthwise multiplier 1 or 2
                        int pad = dil * (r - 1) / 2;
                        out.add(new Geom(1, c, 7, 7, k, r, r, stride, stride, pad, pad, pad, pad, dil, dil, groups));
                    }
        return out;
    }

    /**
     * The depthwise NCHW fallback (a 7x7 dilation-20 window over 32 KiB), a split weight gradient
     * (800 pixels), depthwise with asymmetric padding, a 1x1 GEMM with (irrelevant) dilation, and
     * depthwise NHWC with whole 16-byte packs of channels (C = 8: f32 packs of 4; C = 16: half packs of 8).
     */
    static List<Geom> extras() {
        return List.of(new Geom(1, 3, 7, 7, 3, 7, 7, 2, 2, 60, 60, 60, 60, 20, 20, 3),
                new Geom(2, 3, 20, 20, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                new Geom(2, 4, 20, 20, 8, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 4),
                new Geom(1, 5, 17, 13, 7, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 1),
                new Geom(1, 8, 7, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 8),
                new Geom(1, 16, 7, 7, 16, 5, 5, 1, 1, 2, 2, 1, 3, 1, 1, 16));
    }

    /** The algorithm the dispatch should pick for an f32 call. */
    static String expected(Device d, Layout l, Geom g) {
        if (d.type() == Device.Type.CPU) return g.groups() == g.c() && g.groups() == g.k() ? "direct_depthwise" : "im2col_gemm";
        if (l == Layout.NHWC && g.groups() == 1 && g.r() == 1 && g.s() == 1 && g.sh() == 1 && g.sw() == 1 && g.pt() == 0
                && g.pb() == 0 && g.pl() == 0 && g.pr() == 0)
            return "gemm_1x1";
        if (g.groups() == g.c()) return "depthwise";
        return "implicit_gemm_fma";
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        List<Geom> gs = new ArrayList<>(sweep());
        gs.addAll(extras());
        TestDevices.host().forEach(d -> {
            for (Layout l : Layout.values())
                for (Geom g : gs) out.add(Arguments.of(d, DType.F32, l, g));
        });
        return out.stream();
    }

    /** Depthwise 3x3 stride 2 multiplier 2, depthwise 7x7, 1x1, grouped 5x5 dilation 2 stride 2, packed depthwise. */
    static List<Geom> halfGeoms() {
        List<Geom> sw = sweep();
        return List.of(sw.get(16 * 2 + 4 + 3), sw.get(16 * 2 + 12), sw.get(0), sw.get(16 + 8 + 3), extras().get(5));
    }

    static Stream<Arguments> halfCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.BF16, DType.F16})
                for (Layout l : Layout.values())
                    for (Geom g : halfGeoms()) out.add(Arguments.of(d, t, l, g));
        });
        return out.stream();
    }

    static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource({"cases", "halfCases"})
    void matchesReference(Device d, DType t, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() * 31L + layout.ordinal() + 7L * t.ordinal());
        boolean nhwc = layout == Layout.NHWC, half = t != DType.F32;
        double tol = t == DType.F32 ? 1e-5 : t == DType.BF16 ? 1e-2 : 2e-3;
        int n = g.n(), c = g.c(), k = g.k(), P = g.p(), Q = g.q();
        double[] x = gen(rnd, half, g.xSize()), w = gen(rnd, half, g.wSize()), b = gen(rnd, half, k),
                gy = gen(rnd, half, g.ySize()), res = gen(rnd, half, g.ySize());
        Conv2dParams p = g.params(layout);
        String what = d + " " + t + " " + layout + " " + g;
        try (Scope scope = Scope.open()) {
            Tensor tx = ConvTest.upload(d, t, x, nhwc, n, c, g.h(), g.w());
            Tensor tw = ConvTest.upload(d, t, w, nhwc, k, g.cg(), g.r(), g.s());
            Tensor tb = ConvTest.upload(d, t, b, false, 1, 1, 1, k).reshape(k);
            Tensor tgy = ConvTest.upload(d, t, gy, nhwc, n, k, P, Q);
            assertEquals(expected(d, layout, g), F.conv2dAlgorithm(tx, tw, p), "algorithm " + what);

            double[] ref = ConvReference.forward(g, x, w, b), scale = ConvReference.forward(g, abs(x), abs(w), abs(b));
            Tensor y = ConvTest.poisoned(d, t, nhwc, n, k, P, Q);
            F.conv2d(tx, tw, tb, null, p, y);
            ConvTest.check(ref, scale, ConvTest.download(y, nhwc, n, k, P, Q), tol, "forward " + what);

            // fused silu(conv + b) + residual; silu's slope stays below 1.1
            Tensor tr = ConvTest.upload(d, t, res, nhwc, n, k, P, Q);
            Tensor fused = ConvTest.poisoned(d, t, nhwc, n, k, P, Q);
            F.conv2d(tx, tw, tb, tr, p.withActivation(Act.silu()), fused);
            double[] fusedRef = new double[ref.length], fusedScale = new double[ref.length];
            for (int i = 0; i < ref.length; i++) {
                fusedRef[i] = silu(ref[i]) + res[i];
                fusedScale[i] = 1.1 * scale[i] + Math.abs(res[i]);
            }
            ConvTest.check(fusedRef, fusedScale, ConvTest.download(fused, nhwc, n, k, P, Q), tol, "fused " + what);

            Tensor dx = ConvTest.poisoned(d, t, nhwc, n, c, g.h(), g.w());
            F.conv2dBackwardData(tgy, tw, p, dx);
            ConvTest.check(ConvReference.backwardData(g, gy, w), ConvReference.backwardData(g, abs(gy), abs(w)),
                    ConvTest.download(dx, nhwc, n, c, g.h(), g.w()), tol, "grad x " + what);

            Tensor dw = ConvTest.poisoned(d, t, nhwc, k, g.cg(), g.r(), g.s());
            Tensor db = Tensor.full(new long[] {k}, Double.NaN, t, d);
            F.conv2dBackwardWeight(tx, tgy, p, dw, db);
            ConvTest.check(ConvReference.backwardWeight(g, x, gy), ConvReference.backwardWeight(g, abs(x), abs(gy)),
                    ConvTest.download(dw, nhwc, k, g.cg(), g.r(), g.s()), tol, "grad w " + what);
            ConvTest.check(ConvReference.backwardBias(g, gy), ConvReference.backwardBias(g, abs(gy)),
                    ConvTest.download(db, false, 1, 1, 1, k), tol, "grad bias " + what);
        }
    }

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    /** An empty batch: no pixels to sum, so the weight and bias gradients are zeros (not the poison). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void emptyBatchGivesZeroWeightGradients(Device d) {
        Geom g = new Geom(0, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        for (Layout l : Layout.values())
            try (Scope scope = Scope.open()) {
                boolean nhwc = l == Layout.NHWC;
                Tensor x = Tensor.zeros(nhwc ? new long[] {0, 7, 7, 3} : new long[] {0, 3, 7, 7}, DType.F32, d);
                Tensor gy = Tensor.zeros(nhwc ? new long[] {0, 7, 7, 4} : new long[] {0, 4, 7, 7}, DType.F32, d);
                Tensor dw = ConvTest.poisoned(d, DType.F32, nhwc, g.k(), g.cg(), g.r(), g.s());
                Tensor db = Tensor.full(new long[] {g.k()}, Double.NaN, DType.F32, d);
                F.conv2dBackwardWeight(x, gy, g.params(l), dw, db);
                assertArrayEquals(new float[g.wSize()], dw.toFloatArray(), "grad w " + d + " " + l);
                assertArrayEquals(new float[g.k()], db.toFloatArray(), "grad bias " + d + " " + l);
            }
    }

    /**
     * Empty channel groups, which torch allows (C = 0 or K = 0): the forward gives act(bias), the
     * data gradient zeros, in every dtype and layout, on the tensor-core dtypes too (TF32 allowed),
     * where such a group falls back to the FMA kernels.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void emptyChannelsGiveBiasAndZeros(Device d) {
        DeepKern.setAllowTf32(d, true);
        try {
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16})
                for (Layout l : Layout.values())
                    try (Scope scope = Scope.open()) {
                        boolean nhwc = l == Layout.NHWC;
                        Conv2dParams p = new Geom(1, 0, 5, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1).params(l);
                        Tensor x = Tensor.zeros(nhwc ? new long[] {1, 5, 5, 0} : new long[] {1, 0, 5, 5}, t, d);
                        Tensor w = Tensor.zeros(nhwc ? new long[] {8, 3, 3, 0} : new long[] {8, 0, 3, 3}, t, d);
                        Tensor b = Tensor.full(new long[] {8}, 0.5, t, d);
                        float[] y = F.conv2d(x, w, b, null, p).toFloatArray();
                        float[] want = new float[8 * 25];
                        java.util.Arrays.fill(want, 0.5f);
                        assertArrayEquals(want, y, "C = 0 forward " + t + " " + l + " " + d);
                        // K = 0: the data gradient of 8 channels sums over no filter
                        Tensor gy = Tensor.zeros(nhwc ? new long[] {1, 5, 5, 0} : new long[] {1, 0, 5, 5}, t, d);
                        Tensor w0 = Tensor.zeros(nhwc ? new long[] {0, 3, 3, 8} : new long[] {0, 8, 3, 3}, t, d);
                        long[] xShape = nhwc ? new long[] {1, 5, 5, 8} : new long[] {1, 8, 5, 5};
                        Conv2dParams pk = new Geom(1, 8, 5, 5, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1).params(l);
                        assertArrayEquals(new float[8 * 25], F.conv2dBackwardData(gy, w0, xShape, pk).toFloatArray(),
                                "K = 0 grad x " + t + " " + l + " " + d);
                    }
        } finally {
            DeepKern.setAllowTf32(d, false);
        }
    }

    private static double[] gen(Random rnd, boolean half, int size) {
        return half ? ConvTest.eighths(rnd, size) : ConvTest.randn(rnd, size);
    }
}
