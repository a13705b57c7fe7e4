package org.deepkern.conv;

import static org.deepkern.testing.Close.assertClose;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;
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
import org.deepkern.testing.EmulatedHopper;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.deepkern.testing.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Hopper convolution forward (kernels/conv/conv2d_sm90.cu: a producer warpgroup gathering the
 * im2col tile by cp.async into the 64-byte swizzle and loading w by TMA, two wgmma consumer
 * warpgroups) on the emulator standing for an sm_90: NHWC bf16 / f16 on the tensor-core forward's
 * shapes (ragged tiles every way, groups, stride, dilation, asymmetric padding, more reduction steps
 * than stages), against the double reference, with its fused epilogue, and bit-identical under every
 * thread order; NCHW there still takes the Ampere kernel.
 */
@ExtendWith(EmulatedHopper.class)
class ConvHopperEmuTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (DType t : new DType[] {DType.BF16, DType.F16})
            for (Geom g : ConvMmaTest.geoms()) out.add(Arguments.of(t, g));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesReference(DType t, Geom g) {
        Device d = Device.EMU;
        Random rnd = new Random(g.hashCode() + 7L * t.ordinal());
        double[] x = ConvTest.eighths(rnd, g.xSize()), w = ConvTest.eighths(rnd, g.wSize()), b = ConvTest.eighths(rnd, g.k());
        int P = g.p(), Q = g.q();
        try (Scope s = Scope.open()) {
            Tensor tx = ConvTest.upload(d, t, x, true, g.n(), g.c(), g.h(), g.w());
            Tensor tw = ConvTest.upload(d, t, w, true, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = ConvTest.upload(d, t, b, false, 1, 1, 1, g.k()).reshape(g.k());
            Conv2dParams p = g.params(Layout.NHWC);
            assertEquals("implicit_gemm_wgmma", F.conv2dAlgorithm(tx, tw, p));
            Tensor y = ConvTest.poisoned(d, t, true, g.n(), g.k(), P, Q);
            F.conv2d(tx, tw, tb, null, p, y);
            ConvTest.check(ConvReference.forward(g, x, w, b),
                    ConvReference.forward(g, ConvReference.abs(x), ConvReference.abs(w), ConvReference.abs(b)),
                    ConvTest.download(y, true, g.n(), g.k(), P, Q), t == DType.BF16 ? 1e-2 : 2e-3, "wgmma " + t + " " + g);

            double[] r = ConvTest.eighths(rnd, g.ySize()), conv = ConvReference.forward(g, x, w, b);
            Tensor res = ConvTest.upload(d, t, r, true, g.n(), g.k(), P, Q);
            Tensor fused = F.conv2d(tx, tw, tb, res, p.withActivation(Act.gelu()));
            double[] expected = new double[conv.length];
            for (int i = 0; i < conv.length; i++) expected[i] = Reference.gelu(conv[i]) + r[i];
            assertClose(expected, ConvTest.f(ConvTest.download(fused, true, g.n(), g.k(), P, Q)), t == DType.BF16 ? 2e-2 : 4e-3,
                    0.05, "wgmma epilogue " + t + " " + g);
        }
    }

    @Test
    void sameInEveryOrderAndNchwOnAmpere() {
        for (Geom g : new Geom[] {ConvMmaTest.geoms().get(4), ConvMmaTest.geoms().get(5)})
            sameInEveryOrder("wgmma conv " + g, 41, () -> {
                Random rnd = new Random(3);
                try (Scope s = Scope.open()) {
                    Tensor x = ConvTest.upload(Device.EMU, DType.BF16, ConvTest.eighths(rnd, g.xSize()), true, g.n(), g.c(), g.h(), g.w());
                    Tensor w = ConvTest.upload(Device.EMU, DType.BF16, ConvTest.eighths(rnd, g.wSize()), true, g.k(), g.cg(), g.r(), g.s());
                    return F.conv2d(x, w, null, g.params(Layout.NHWC)).toFloatArray();
                }
            });
        Geom g = ConvMmaTest.geoms().get(0);
        try (Scope s = Scope.open()) {
            Tensor x = ConvTest.upload(Device.EMU, DType.BF16, ConvTest.eighths(new Random(1), g.xSize()), false, g.n(), g.c(), g.h(), g.w());
            Tensor w = ConvTest.upload(Device.EMU, DType.BF16, ConvTest.eighths(new Random(2), g.wSize()), false, g.k(), g.cg(), g.r(), g.s());
            assertEquals("implicit_gemm_mma", F.conv2dAlgorithm(x, w, g.params(Layout.NCHW)));
        }
    }
}
