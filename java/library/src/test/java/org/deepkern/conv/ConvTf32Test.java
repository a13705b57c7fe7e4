package org.deepkern.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Tf32;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The f32 conv2d forward with TF32 allowed: C/groups a multiple of 4 runs the tensor-core kernel
 * (conv2d_mma.cu with mma.m16n8k8.tf32) on emu, NHWC in place and NCHW through channels-last copies,
 * and the NHWC 1x1 case the TF32 GEMM; each must equal
 * the double convolution of the TF32-rounded x and w (at f32 accumulation tolerance) with its fused
 * epilogue (bias, relu, residual), and differ from the exact one. Without the switch, or on cpu, f32
 * stays f32; C/groups not a multiple of 4 keeps the FMA kernel. The gradients likewise.
 */
class ConvTf32Test {
    static List<Geom> geoms() {
        List<Geom> g = new ArrayList<>(ConvMmaTest.geoms());
        g.add(new Geom(1, 12, 9, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1));    // C 12: a multiple of 4, not of 8
        g.add(new Geom(2, 12, 7, 7, 9, 3, 3, 2, 1, 1, 0, 1, 1, 1, 1, 3));     // groups 3: C/g 4, K/g 3
        g.add(new Geom(2, 16, 9, 7, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1));    // 1x1, stride 1: gemm_1x1
        g.add(new Geom(1, 6, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1));      // C 6: the FMA kernel
        return g;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (Layout l : Layout.values())
                for (Geom g : geoms()) out.add(Arguments.of(d, l, g));
        });
        return out.stream();
    }

    /** The forward's shapes and ConvMmaTest's gradient-only ones (a split weight gradient, strides and dilation). */
    static List<Geom> gradGeoms() {
        List<Geom> g = new ArrayList<>(geoms());
        g.addAll(ConvMmaTest.gradGeoms().subList(ConvMmaTest.geoms().size(), ConvMmaTest.gradGeoms().size()));
        return g;
    }

    static Stream<Arguments> gradCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (Layout l : Layout.values())
                for (Geom g : gradGeoms()) out.add(Arguments.of(d, l, g));
        });
        return out.stream();
    }

    /**
     * The data and weight gradients with TF32 allowed: on emu the tensor-core kernels where
     * C/groups and K/groups are multiples of 4 (operands rounded to TF32; NCHW through channels-last
     * copies), the FMA kernels (exact f32) otherwise; on cpu f32 either way.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("gradCases")
    void gradientsRoundToTf32(Device d, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() + 29L);
        double[] x = ConvTest.randn(rnd, g.xSize()), w = ConvTest.randn(rnd, g.wSize()), gy = ConvTest.randn(rnd, g.ySize());
        int P = g.p(), Q = g.q();
        Conv2dParams p = g.params(layout);
        boolean nhwc = layout == Layout.NHWC;
        boolean rounds = d.type() != Device.Type.CPU && g.cg() % 4 == 0 && (g.k() / g.groups()) % 4 == 0;
        DeepKern.setAllowTf32(d, true);
        try (Scope s = Scope.open()) {
            Tensor tx = ConvTest.upload(d, DType.F32, x, nhwc, g.n(), g.c(), g.h(), g.w());
            Tensor tw = ConvTest.upload(d, DType.F32, w, nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor tgy = ConvTest.upload(d, DType.F32, gy, nhwc, g.n(), g.k(), P, Q);
            double[] xr = rounds ? Tf32.round(x) : x, wr = rounds ? Tf32.round(w) : w, gyr = rounds ? Tf32.round(gy) : gy;
            Tensor dx = ConvTest.poisoned(d, DType.F32, nhwc, g.n(), g.c(), g.h(), g.w());
            F.conv2dBackwardData(tgy, tw, p, dx);
            ConvTest.check(ConvReference.backwardData(g, gyr, wr),
                    ConvReference.backwardData(g, ConvReference.abs(gy), ConvReference.abs(w)),
                    ConvTest.download(dx, nhwc, g.n(), g.c(), g.h(), g.w()), 2e-5, "tf32 grad x " + d + " " + layout + " " + g);
            Tensor dw = ConvTest.poisoned(d, DType.F32, nhwc, g.k(), g.cg(), g.r(), g.s());
            F.conv2dBackwardWeight(tx, tgy, p, dw, null);
            ConvTest.check(ConvReference.backwardWeight(g, xr, gyr),
                    ConvReference.backwardWeight(g, ConvReference.abs(x), ConvReference.abs(gy)),
                    ConvTest.download(dw, nhwc, g.k(), g.cg(), g.r(), g.s()), 2e-5, "tf32 grad w " + d + " " + layout + " " + g);
        } finally {
            DeepKern.setAllowTf32(d, false);
        }
    }

    static String expectedAlgorithm(Device d, Layout layout, Geom g, boolean tf32) {
        if (d.type() == Device.Type.CPU) return "im2col_gemm";
        if (layout == Layout.NHWC && g.r() == 1 && g.s() == 1 && g.sh() == 1 && g.sw() == 1
                && g.pt() + g.pb() + g.pl() + g.pr() == 0 && g.groups() == 1)
            return "gemm_1x1";
        return tf32 && g.cg() % 4 == 0 ? "implicit_gemm_mma" : "implicit_gemm_fma";
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void forwardRoundsToTf32(Device d, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() + 17L);
        double[] x = ConvTest.randn(rnd, g.xSize()), w = ConvTest.randn(rnd, g.wSize()), b = ConvTest.randn(rnd, g.k()),
                res = ConvTest.randn(rnd, g.ySize());
        int P = g.p(), Q = g.q();
        Conv2dParams p = g.params(layout).withActivation(Act.relu());
        boolean nhwc = layout == Layout.NHWC;
        boolean rounds = d.type() != Device.Type.CPU && !expectedAlgorithm(d, layout, g, true).equals("implicit_gemm_fma");
        DeepKern.setAllowTf32(d, true);
        try (Scope s = Scope.open()) {
            Tensor tx = ConvTest.upload(d, DType.F32, x, nhwc, g.n(), g.c(), g.h(), g.w());
            Tensor tw = ConvTest.upload(d, DType.F32, w, nhwc, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = Tensor.of(ConvTest.f(b), new long[] {g.k()}, d);
            Tensor tr = ConvTest.upload(d, DType.F32, res, nhwc, g.n(), g.k(), P, Q);
            assertEquals(expectedAlgorithm(d, layout, g, true), F.conv2dAlgorithm(tx, tw, p));
            double[] got = ConvTest.download(F.conv2d(tx, tw, tb, tr, p), nhwc, g.n(), g.k(), P, Q);
            double[] xr = rounds ? Tf32.round(x) : x, wr = rounds ? Tf32.round(w) : w;
            double[] conv = ConvReference.forward(g, xr, wr, b), exact = ConvReference.forward(g, x, w, b);
            double[] mag = ConvReference.forward(g, ConvReference.abs(x), ConvReference.abs(w), ConvReference.abs(b));
            double[] want = new double[conv.length];
            for (int i = 0; i < conv.length; i++) want[i] = Math.max(conv[i], 0) + res[i];
            ConvTest.check(want, mag, got, 2e-5, "tf32 conv " + d + " " + layout + " " + g);
            if (rounds) {
                double worst = 0;
                for (int i = 0; i < got.length; i++)
                    if (exact[i] > 0) worst = Math.max(worst, Math.abs(got[i] - res[i] - exact[i]) / mag[i]);
                assertTrue(worst > 8e-5, "tf32 conv " + g + ": no output further from the exact conv than f32 rounding ("
                        + worst + "): TF32 was not used");
            }
            DeepKern.setAllowTf32(d, false);
            assertEquals(expectedAlgorithm(d, layout, g, false), F.conv2dAlgorithm(tx, tw, p));
        } finally {
            DeepKern.setAllowTf32(d, false);
        }
    }
}
