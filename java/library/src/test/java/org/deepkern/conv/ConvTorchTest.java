package org.deepkern.conv;

import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dWeightGrads;
import org.deepkern.ops.F;
import static org.deepkern.testing.Close.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.conv.ConvReference.TGeom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PyTorch (CPU, JavaCPP presets) as the oracle: torch.conv2d with stride, padding (asymmetric
 * through constant_pad_nd first), dilation and groups, and torch.conv_transpose2d with output
 * padding and groups, in f32 and bf16; deepkern runs both layouts on cpu and emu. Each torch answer
 * is first checked against the double reference (ConvReference) on the same inputs: where torch is
 * wrong on this CPU the case is skipped with the error ({@link Oracle}); deepkern is asserted against
 * the double reference either way.
 */
class ConvTorchTest {
    static {
        torch.set_num_threads(1);
    }

    static org.bytedeco.pytorch.Tensor tt(double[] v, DType t, long... shape) {
        org.bytedeco.pytorch.Tensor f = torch.from_blob(new FloatPointer(ConvTest.f(v)), shape).clone();
        return t == DType.BF16 ? f.to(torch.ScalarType.BFloat16) : f;
    }

    static double[] back(org.bytedeco.pytorch.Tensor y) {
        org.bytedeco.pytorch.Tensor f = y.to(torch.ScalarType.Float).contiguous();
        float[] out = new float[(int) f.numel()];
        f.data_ptr_float().get(out);
        double[] d = new double[out.length];
        for (int i = 0; i < out.length; i++) d[i] = out[i];
        return d;
    }

    static double[] torchConv(Geom g, double[] x, double[] w, double[] b, DType t) {
        try (PointerScope s = new PointerScope()) {
            org.bytedeco.pytorch.Tensor tx = tt(x, t, g.n(), g.c(), g.h(), g.w());
            tx = torch.constant_pad_nd(tx, new long[] {g.pl(), g.pr(), g.pt(), g.pb()});
            org.bytedeco.pytorch.Tensor y = torch.conv2d(tx, tt(w, t, g.k(), g.cg(), g.r(), g.s()),
                    new TensorOptional(tt(b, t, g.k())), new long[] {g.sh(), g.sw()}, new long[] {0, 0},
                    new long[] {g.dh(), g.dw()}, g.groups());
            return back(y);
        }
    }

    static double[] torchConvT(TGeom g, double[] x, double[] w, double[] b, DType t) {
        try (PointerScope s = new PointerScope()) {
            org.bytedeco.pytorch.Tensor y = torch.conv_transpose2d(tt(x, t, g.n(), g.cin(), g.h(), g.w()),
                    tt(w, t, g.cin(), g.cog(), g.r(), g.s()), new TensorOptional(tt(b, t, g.cout())),
                    new long[] {g.sh(), g.sw()}, new long[] {g.ph(), g.pw()}, new long[] {g.oph(), g.opw()}, g.groups(),
                    g.dh(), g.dw());
            return back(y);
        }
    }

    /** torch's answer against the double reference, with twice the tolerance deepkern is held to against torch. */
    static Oracle vet(Oracle torch, String what, double[] exact, double[] answer, double[] scale, double tol) {
        return torch.vet(what, exact, ConvTest.f(answer), 0, i -> 2 * tol * scale[i] + 1e-30);
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        List<Geom> gs = ConvTest.geoms();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Layout l : Layout.values())
                    for (int i : new int[] {1, 2, 3, 7, 10}) out.add(Arguments.of(d, t, l, gs.get(i)));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("cases")
    void conv2dMatchesTorch(Device d, DType t, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() + 3L * t.ordinal());
        boolean nhwc = layout == Layout.NHWC;
        double[] x = ConvTest.eighths(rnd, g.xSize()), w = ConvTest.eighths(rnd, g.wSize()), b = ConvTest.eighths(rnd, g.k());
        double[] ref = torchConv(g, x, w, b, t);
        double[] exact = ConvReference.forward(g, x, w, b);  // the inputs are exact in bf16
        double[] scale = ConvReference.forward(g, ConvReference.abs(x), ConvReference.abs(w), ConvReference.abs(b));
        double tol = t == DType.F32 ? 1e-5 : 2e-2;  // torch bf16 rounds too, possibly in another order
        String what = "conv2d " + t + " " + d + " " + layout + " " + g;
        Oracle torch = vet(Oracle.torch(), "torch " + what, exact, ref, scale, tol);
        try (Scope s = Scope.open()) {
            Tensor y = F.conv2d(ConvTest.upload(d, t, x, nhwc, g.n(), g.c(), g.h(), g.w()),
                    ConvTest.upload(d, t, w, nhwc, g.k(), g.cg(), g.r(), g.s()),
                    ConvTest.upload(d, t, b, false, 1, 1, 1, g.k()).reshape(g.k()), g.params(layout));
            double[] ours = ConvTest.download(y, nhwc, g.n(), g.k(), g.p(), g.q());
            ConvTest.check(exact, scale, ours, tol, what + " vs the double reference");
            torch.judge(() -> ConvTest.check(ref, scale, ours, tol, what + " vs torch"));
        }
    }

    static Stream<Arguments> gradCases() {
        List<Arguments> out = new ArrayList<>();
        List<Geom> gs = ConvTest.geoms();
        TestDevices.host().forEach(d -> {
            for (Layout l : Layout.values())
                for (int i : new int[] {1, 2, 3, 6, 11}) out.add(Arguments.of(d, l, gs.get(i)));
        });
        return out.stream();
    }

    /** Data, weight and bias gradients against torch autograd through conv2d (f32). */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("gradCases")
    void gradientsMatchTorchAutograd(Device d, Layout layout, Geom g) {
        Random rnd = new Random(g.hashCode() + 11L);
        boolean nhwc = layout == Layout.NHWC;
        double[] x = ConvTest.randn(rnd, g.xSize()), w = ConvTest.randn(rnd, g.wSize()), b = ConvTest.randn(rnd, g.k()),
                gy = ConvTest.randn(rnd, g.ySize());
        double[] tdx, tdw, tdb;
        try (PointerScope ps = new PointerScope()) {
            org.bytedeco.pytorch.Tensor tx = tt(x, DType.F32, g.n(), g.c(), g.h(), g.w()),
                    tw = tt(w, DType.F32, g.k(), g.cg(), g.r(), g.s()), tb = tt(b, DType.F32, g.k());
            for (org.bytedeco.pytorch.Tensor t : List.of(tx, tw, tb)) t.set_requires_grad(true);
            org.bytedeco.pytorch.Tensor y = torch.conv2d(torch.constant_pad_nd(tx, new long[] {g.pl(), g.pr(), g.pt(), g.pb()}),
                    tw, new TensorOptional(tb), new long[] {g.sh(), g.sw()}, new long[] {0, 0}, new long[] {g.dh(), g.dw()},
                    g.groups());
            y.backward(tt(gy, DType.F32, g.n(), g.k(), g.p(), g.q()), new BoolOptional(), false, new TensorArrayRefOptional());
            tdx = back(tx.grad());
            tdw = back(tw.grad());
            tdb = back(tb.grad());
        }
        Conv2dParams p = g.params(layout);
        double[] ex = ConvReference.backwardData(g, gy, w), ew = ConvReference.backwardWeight(g, x, gy),
                eb = ConvReference.backwardBias(g, gy);
        double[] sx = ConvReference.backwardData(g, ConvReference.abs(gy), ConvReference.abs(w)),
                sw = ConvReference.backwardWeight(g, ConvReference.abs(x), ConvReference.abs(gy)),
                sb = ConvReference.backwardBias(g, ConvReference.abs(gy));
        String what = d + " " + layout + " " + g;
        Oracle torch = Oracle.torch();
        vet(torch, "torch autograd grad x " + what, ex, tdx, sx, 1e-5);
        vet(torch, "torch autograd grad w " + what, ew, tdw, sw, 1e-5);
        vet(torch, "torch autograd grad bias " + what, eb, tdb, sb, 1e-5);
        try (Scope s = Scope.open()) {
            Tensor dgy = ConvTest.upload(d, DType.F32, gy, nhwc, g.n(), g.k(), g.p(), g.q());
            Tensor dx = F.conv2dBackwardData(dgy, ConvTest.upload(d, DType.F32, w, nhwc, g.k(), g.cg(), g.r(), g.s()),
                    nhwc ? new long[] {g.n(), g.h(), g.w(), g.c()} : new long[] {g.n(), g.c(), g.h(), g.w()}, p);
            double[] ox = ConvTest.download(dx, nhwc, g.n(), g.c(), g.h(), g.w());
            ConvTest.check(ex, sx, ox, 1e-5, "grad x vs the double reference " + what);
            Conv2dWeightGrads wg = F.conv2dBackwardWeight(ConvTest.upload(d, DType.F32, x, nhwc, g.n(), g.c(), g.h(), g.w()), dgy,
                    nhwc ? new long[] {g.k(), g.r(), g.s(), g.cg()} : new long[] {g.k(), g.cg(), g.r(), g.s()}, true, p);
            try (wg) {
                double[] ow = ConvTest.download(wg.gradWeight(), nhwc, g.k(), g.cg(), g.r(), g.s());
                double[] ob = ConvTest.download(wg.gradBias().reshape(1, 1, 1, g.k()), false, 1, 1, 1, g.k());
                ConvTest.check(ew, sw, ow, 1e-5, "grad w vs the double reference " + what);
                ConvTest.check(eb, sb, ob, 1e-5, "grad bias vs the double reference " + what);
                torch.judge(() -> {
                    ConvTest.check(tdx, sx, ox, 1e-5, "grad x vs torch autograd " + what);
                    ConvTest.check(tdw, sw, ow, 1e-5, "grad w vs torch autograd " + what);
                    ConvTest.check(tdb, sb, ob, 1e-5, "grad bias vs torch autograd " + what);
                });
            }
        }
    }

    static Stream<Arguments> tcases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Layout l : Layout.values())
                    for (TGeom g : ConvTest.tgeoms()) out.add(Arguments.of(d, t, l, g));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("tcases")
    void convTranspose2dMatchesTorch(Device d, DType t, Layout layout, TGeom g) {
        Random rnd = new Random(g.hashCode() + 5L * t.ordinal());
        boolean nhwc = layout == Layout.NHWC;
        double[] x = ConvTest.eighths(rnd, g.n() * g.cin() * g.h() * g.w()),
                w = ConvTest.eighths(rnd, g.cin() * g.cog() * g.r() * g.s()), b = ConvTest.eighths(rnd, g.cout());
        double[] ref = torchConvT(g, x, w, b, t);
        double[] exact = ConvReference.transpose(g, x, w, b);
        double[] scale = ConvReference.transpose(g, ConvReference.abs(x), ConvReference.abs(w), ConvReference.abs(b));
        double tol = t == DType.F32 ? 1e-5 : 2e-2;
        String what = "conv_transpose2d " + t + " " + d + " " + layout + " " + g;
        Oracle torch = vet(Oracle.torch(), "torch " + what, exact, ref, scale, tol);
        try (Scope s = Scope.open()) {
            Tensor y = F.convTranspose2d(ConvTest.upload(d, t, x, nhwc, g.n(), g.cin(), g.h(), g.w()),
                    ConvTest.upload(d, t, w, nhwc, g.cin(), g.cog(), g.r(), g.s()),
                    ConvTest.upload(d, t, b, false, 1, 1, 1, g.cout()).reshape(g.cout()), g.params(layout));
            double[] ours = ConvTest.download(y, nhwc, g.n(), g.cout(), g.ho(), g.wo());
            ConvTest.check(exact, scale, ours, tol, what + " vs the double reference");
            torch.judge(() -> ConvTest.check(ref, scale, ours, tol, what + " vs torch"));
        }
    }
}
