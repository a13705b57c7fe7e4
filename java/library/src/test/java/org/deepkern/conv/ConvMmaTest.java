package org.deepkern.conv;

import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import static org.deepkern.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.testing.Reference;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tensor-core forward (kernels/conv2d_mma.cu: cp.async, ldmatrix, mma.m16n8k16) on emu, which
 * runs it with the PTX fragment layouts: bf16 / f16 with C/groups a multiple of 8, NHWC in place
 * and NCHW through channels-last copies, against the double reference, with tiles ragged in every dimension; that the path is really taken; and its
 * fused epilogue against the separate ops. Also the tensor-core gradients, on cpu too as a control.
 */
class ConvMmaTest {
    /** The emu path of an NHWC bf16 / f16 call with C/groups % 8 == 0: wgmma where emu stands for an sm_90. */
    static String nhwcPath() {
        return Emulator.options().computeCapability() == 90 ? "implicit_gemm_wgmma" : "implicit_gemm_mma";
    }

    static List<Geom> geoms() {
        return List.of(
                new Geom(1, 16, 7, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                new Geom(2, 16, 6, 5, 70, 3, 3, 2, 2, 2, 0, 1, 1, 2, 1, 2),      // groups 2 (C/g 8), asymmetric, dilation
                new Geom(1, 8, 9, 9, 8, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1),
                new Geom(1, 32, 7, 7, 8, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1),       // red exactly one k tile (stride 2: not gemm_1x1)
                new Geom(1, 24, 11, 11, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // 1 x 3 tiles, 7 k steps
                new Geom(2, 8, 12, 11, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     // 264 pixels: 3 forward row tiles, the last ragged
                new Geom(1, 16, 7, 7, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 2));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().filter(d -> d.type() == Device.Type.EMU).forEach(d -> {
            for (DType t : new DType[] {DType.BF16, DType.F16})
                for (Layout l : Layout.values())
                    for (Geom g : geoms()) out.add(Arguments.of(d, t, l, g));
        });
        return out.stream();
    }

    /** NHWC reads x and w in place; NCHW through channels-last copies of both, writing y NCHW. */
    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("cases")
    void matchesReference(Device d, DType t, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() + t.ordinal());
        double[] x = ConvTest.eighths(rnd, g.xSize()), w = ConvTest.eighths(rnd, g.wSize()), b = ConvTest.eighths(rnd, g.k());
        int P = g.p(), Q = g.q();
        boolean nhwc = layout == Layout.NHWC;
        try (Scope s = Scope.open()) {
            Tensor tx = ConvTest.upload(d, t, x, nhwc, g.n(), g.c(), g.h(), g.w());
            Tensor tw = ConvTest.upload(d, t, w, nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = ConvTest.upload(d, t, b, false, 1, 1, 1, g.k()).reshape(g.k());
            Conv2dParams p = g.params(layout);
            assertEquals(nhwc ? nhwcPath() : "implicit_gemm_mma", F.conv2dAlgorithm(tx, tw, p));
            Tensor y = ConvTest.poisoned(d, t, nhwc, g.n(), g.k(), P, Q);
            F.conv2d(tx, tw, tb, null, p, y);
            ConvTest.check(ConvReference.forward(g, x, w, b),
                    ConvReference.forward(g, ConvReference.abs(x), ConvReference.abs(w), ConvReference.abs(b)),
                    ConvTest.download(y, nhwc, g.n(), g.k(), P, Q), t == DType.BF16 ? 1e-2 : 2e-3,
                    "mma " + t + " " + layout + " " + g);

            // fused epilogue: gelu(conv + b) + residual, the residual in the output's layout
            double[] r = ConvTest.eighths(rnd, g.ySize()), conv = ConvReference.forward(g, x, w, b);
            Tensor res = ConvTest.upload(d, t, r, nhwc, g.n(), g.k(), P, Q);
            Tensor fused = F.conv2d(tx, tw, tb, res, p.withActivation(Act.gelu()));
            double[] expected = new double[conv.length];
            for (int i = 0; i < conv.length; i++) expected[i] = Reference.gelu(conv[i]) + r[i];
            assertClose(expected, ConvTest.f(ConvTest.download(fused, nhwc, g.n(), g.k(), P, Q)), t == DType.BF16 ? 2e-2 : 4e-3,
                    0.05, "mma epilogue " + t + " " + layout + " " + g);
        }
    }

    /** Gradient shapes: the forward's (some with K/groups not a multiple of 8: the FMA kernels) and a split weight gradient. */
    static List<Geom> gradGeoms() {
        List<Geom> g = new ArrayList<>(geoms());
        g.add(new Geom(2, 8, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1));   // 800 pixels: split reduction
        g.add(new Geom(1, 16, 9, 9, 16, 3, 3, 2, 2, 2, 1, 1, 2, 2, 2, 2));    // stride 2, dilation 2, groups 2
        return g;
    }

    static Stream<Arguments> gradCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.BF16, DType.F16})
                for (Layout l : Layout.values())
                    for (Geom g : gradGeoms()) out.add(Arguments.of(d, t, l, g));
        });
        return out.stream();
    }

    /**
     * The tensor-core data gradient (stride residue classes, transposed B fragments) and weight
     * gradient (both fragments transposed, split reduction): bf16 / f16 with C/groups and K/groups
     * multiples of 8, NHWC in place and NCHW through channels-last copies, against the double reference.
     */
    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("gradCases")
    void gradientsMatchReference(Device d, DType t, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() + 3L * t.ordinal());
        double[] x = ConvTest.eighths(rnd, g.xSize()), w = ConvTest.eighths(rnd, g.wSize()), gy = ConvTest.eighths(rnd, g.ySize());
        int P = g.p(), Q = g.q();
        double tol = t == DType.BF16 ? 1e-2 : 2e-3;
        boolean nhwc = layout == Layout.NHWC;
        try (Scope s = Scope.open()) {
            Tensor tx = ConvTest.upload(d, t, x, nhwc, g.n(), g.c(), g.h(), g.w());
            Tensor tw = ConvTest.upload(d, t, w, nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor tgy = ConvTest.upload(d, t, gy, nhwc, g.n(), g.k(), P, Q);
            Conv2dParams p = g.params(layout);
            Tensor dx = ConvTest.poisoned(d, t, nhwc, g.n(), g.c(), g.h(), g.w());
            F.conv2dBackwardData(tgy, tw, p, dx);
            ConvTest.check(ConvReference.backwardData(g, gy, w),
                    ConvReference.backwardData(g, ConvReference.abs(gy), ConvReference.abs(w)),
                    ConvTest.download(dx, nhwc, g.n(), g.c(), g.h(), g.w()), tol, "grad x " + t + " " + layout + " " + g);
            Tensor dw = ConvTest.poisoned(d, t, nhwc, g.k(), g.cg(), g.r(), g.s());
            F.conv2dBackwardWeight(tx, tgy, p, dw, null);
            ConvTest.check(ConvReference.backwardWeight(g, x, gy),
                    ConvReference.backwardWeight(g, ConvReference.abs(x), ConvReference.abs(gy)),
                    ConvTest.download(dw, nhwc, g.k(), g.cg(), g.r(), g.s()), tol, "grad w " + t + " " + layout + " " + g);
        }
    }

    @Test
    void otherCallsTakeTheFmaOrDirectPath() {
        Geom g = geoms().get(0);
        TestDevices.host().forEach(d -> {
            try (Scope s = Scope.open()) {
                boolean emu = d.type() == Device.Type.EMU;
                Tensor xh = Tensor.zeros(new long[] {1, 7, 7, 16}, DType.BF16, d), wh = Tensor.zeros(new long[] {24, 3, 3, 16}, DType.BF16, d);
                Tensor xf = Tensor.zeros(new long[] {1, 7, 7, 16}, DType.F32, d), wf = Tensor.zeros(new long[] {24, 3, 3, 16}, DType.F32, d);
                Tensor x3 = Tensor.zeros(new long[] {1, 7, 7, 12}, DType.BF16, d), w3 = Tensor.zeros(new long[] {24, 3, 3, 12}, DType.BF16, d);
                Conv2dParams p = g.params(Layout.NHWC);
                assertEquals(emu ? nhwcPath() : "im2col_gemm", F.conv2dAlgorithm(xh, wh, p));
                assertEquals(emu ? "implicit_gemm_fma" : "im2col_gemm", F.conv2dAlgorithm(xf, wf, p));
                assertEquals(emu ? "implicit_gemm_fma" : "im2col_gemm", F.conv2dAlgorithm(x3, w3, p));  // C % 8 != 0
                Tensor xn = Tensor.zeros(new long[] {1, 16, 7, 7}, DType.BF16, d), wn = Tensor.zeros(new long[] {24, 16, 3, 3}, DType.BF16, d);
                assertEquals(emu ? "implicit_gemm_mma" : "im2col_gemm", F.conv2dAlgorithm(xn, wn, g.params(Layout.NCHW)));
                Tensor xn3 = Tensor.zeros(new long[] {1, 12, 7, 7}, DType.BF16, d), wn3 = Tensor.zeros(new long[] {24, 12, 3, 3}, DType.BF16, d);
                assertEquals(emu ? "implicit_gemm_fma" : "im2col_gemm", F.conv2dAlgorithm(xn3, wn3, g.params(Layout.NCHW)));
            }
        });
    }
}
