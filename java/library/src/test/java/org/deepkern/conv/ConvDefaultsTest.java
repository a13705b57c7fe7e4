package org.deepkern.conv;

import static org.deepkern.conv.ConvReference.abs;
import static org.deepkern.conv.ConvTest.check;
import static org.deepkern.conv.ConvTest.download;
import static org.deepkern.conv.ConvTest.f;
import static org.deepkern.conv.ConvTest.randn;
import static org.deepkern.conv.ConvTest.upload;
import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.deepkern.ops.Conv2dWeightGrads;
import org.deepkern.ops.F;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * conv2d, its gradients and conv_transpose2d called with torch's defaults (stride 1, no padding,
 * dilation 1, one group, NCHW): against the double reference with those parameters written out,
 * and conv2d(x, w) / conv_transpose2d(x, w) against torch's parameterless calls.
 */
class ConvDefaultsTest {
    /** n, c, h, w, k, r, s: odd sizes, all ones, 1x1, a kernel as large as the image. */
    static final int[][] SHAPES = {{2, 3, 7, 6, 5, 3, 2}, {1, 1, 1, 1, 1, 1, 1}, {1, 4, 5, 9, 3, 1, 1}, {3, 2, 4, 4, 1, 4, 4}};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (int[] s : SHAPES) out.add(Arguments.of(d, s));
        });
        return out.stream();
    }

    static Geom geom(int[] s) {
        return new Geom(s[0], s[1], s[2], s[3], s[4], s[5], s[6], 1, 1, 0, 0, 0, 0, 1, 1, 1);
    }

    /** The transposed conv on the same numbers: x [n, c, h, w] with w [c, k, r, s]. */
    static TGeom tgeom(int[] s) {
        return new TGeom(s[0], s[1], s[2], s[3], s[4], s[5], s[6], 1, 1, 0, 0, 0, 0, 1, 1, 1);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void conv2dAndGradients(Device d, int[] shape) {
        Geom g = geom(shape);
        Random rnd = new Random(g.hashCode());
        double[] x = randn(rnd, g.xSize()), w = randn(rnd, g.wSize()), b = randn(rnd, g.k()), gy = randn(rnd, g.ySize());
        int P = g.p(), Q = g.q();
        String what = d + " " + g;
        try (Scope scope = Scope.open()) {
            Tensor tx = upload(d, DType.F32, x, false, g.n(), g.c(), g.h(), g.w());
            Tensor tw = upload(d, DType.F32, w, false, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = Tensor.of(f(b), new long[] {g.k()}, d);
            Tensor tgy = upload(d, DType.F32, gy, false, g.n(), g.k(), P, Q);
            check(ConvReference.forward(g, x, w, null), ConvReference.forward(g, abs(x), abs(w), null),
                    download(F.conv2d(tx, tw), false, g.n(), g.k(), P, Q), 1e-5, "conv2d(x, w) " + what);
            check(ConvReference.forward(g, x, w, b), ConvReference.forward(g, abs(x), abs(w), abs(b)),
                    download(F.conv2d(tx, tw, tb), false, g.n(), g.k(), P, Q), 1e-5, "conv2d(x, w, b) " + what);
            check(ConvReference.backwardData(g, gy, w), ConvReference.backwardData(g, abs(gy), abs(w)),
                    download(F.conv2dBackwardData(tgy, tw, tx.shape()), false, g.n(), g.c(), g.h(), g.w()), 1e-5,
                    "conv2dBackwardData " + what);
            Conv2dWeightGrads wg = F.conv2dBackwardWeight(tx, tgy, tw.shape(), true);
            check(ConvReference.backwardWeight(g, x, gy), ConvReference.backwardWeight(g, abs(x), abs(gy)),
                    download(wg.gradWeight(), false, g.k(), g.cg(), g.r(), g.s()), 1e-5, "conv2dBackwardWeight " + what);
            check(ConvReference.backwardBias(g, gy), ConvReference.backwardBias(g, abs(gy)),
                    doubles(wg.gradBias().toFloatArray()), 1e-5, "bias gradient " + what);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void convTranspose2d(Device d, int[] shape) {
        TGeom g = tgeom(shape);
        Random rnd = new Random(g.hashCode());
        double[] x = randn(rnd, g.n() * g.cin() * g.h() * g.w()), w = randn(rnd, g.cin() * g.cog() * g.r() * g.s()),
                b = randn(rnd, g.cout());
        String what = d + " " + g;
        try (Scope scope = Scope.open()) {
            Tensor tx = upload(d, DType.F32, x, false, g.n(), g.cin(), g.h(), g.w());
            Tensor tw = upload(d, DType.F32, w, false, g.cin(), g.cog(), g.r(), g.s());
            Tensor tb = Tensor.of(f(b), new long[] {g.cout()}, d);
            check(ConvReference.transpose(g, x, w, null), ConvReference.transpose(g, abs(x), abs(w), null),
                    download(F.convTranspose2d(tx, tw), false, g.n(), g.cout(), g.ho(), g.wo()), 1e-5,
                    "convTranspose2d(x, w) " + what);
            check(ConvReference.transpose(g, x, w, b), ConvReference.transpose(g, abs(x), abs(w), abs(b)),
                    download(F.convTranspose2d(tx, tw, tb), false, g.n(), g.cout(), g.ho(), g.wo()), 1e-5,
                    "convTranspose2d(x, w, b) " + what);
        }
    }

    /** torch.nn.functional.conv2d(x, w) and conv_transpose2d(x, w), vetted against the reference first. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesTorchDefaults(Device d, int[] shape) {
        Geom g = geom(shape);
        TGeom t = tgeom(shape);
        Random rnd = new Random(7 + g.hashCode());
        double[] x = randn(rnd, g.xSize()), w = randn(rnd, g.wSize()), wt = randn(rnd, t.cin() * t.cog() * t.r() * t.s());
        long[] xs = {g.n(), g.c(), g.h(), g.w()}, ws = {g.k(), g.c(), g.r(), g.s()}, wts = {t.cin(), t.cog(), t.r(), t.s()};
        try (Scope scope = Scope.open()) {
            Tensor tx = Tensor.of(f(x), xs, d);
            double[] ref = ConvReference.forward(g, x, w, null), scale = ConvReference.forward(g, abs(x), abs(w), null);
            double[] tref = ConvReference.transpose(t, x, wt, null), tscale = ConvReference.transpose(t, abs(x), abs(wt), null);
            float[] torchY = Torch.conv2d(f(x), xs, f(w), ws, false), torchT = Torch.conv2d(f(x), xs, f(wt), wts, true);
            Oracle torch = Oracle.torch();
            torch.vet("torch conv2d " + g, ref, torchY, 0, i -> 2e-5 * scale[i] + 1e-30);
            torch.vet("torch conv_transpose2d " + t, tref, torchT, 0, i -> 2e-5 * tscale[i] + 1e-30);
            float[] y = F.conv2d(tx, Tensor.of(f(w), ws, d)).toFloatArray(), yt = F.convTranspose2d(tx, Tensor.of(f(wt), wts, d)).toFloatArray();
            torch.judge(() -> {
                check(doubles(torchY), scale, doubles(y), 2e-5, "conv2d(x, w) vs torch on " + d);
                check(doubles(torchT), tscale, doubles(yt), 2e-5, "convTranspose2d(x, w) vs torch on " + d);
            });
        }
    }

    static double[] doubles(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    static Scope scope;
    static Tensor x, w, big;

    @BeforeAll
    static void make() {
        scope = Scope.open();
        x = Tensor.zeros(new long[] {1, 3, 4, 4}, DType.F32, Device.CPU);
        w = Tensor.zeros(new long[] {2, 5, 3, 3}, DType.F32, Device.CPU);
        big = Tensor.zeros(new long[] {2, 3, 5, 5}, DType.F32, Device.CPU);
    }

    @AfterAll
    static void release() {
        scope.close();
    }

    static Stream<Arguments> bad() {
        return Stream.of(
                Arguments.of("F.conv2d", "w", "channel mismatch", (Executable) () -> F.conv2d(x, w)),
                Arguments.of("F.conv2d", "x", "null", (Executable) () -> F.conv2d(null, w, null)),
                Arguments.of("F.convTranspose2d", "w", "first dim must be the 3 channels", (Executable) () -> F.convTranspose2d(x, w)),
                Arguments.of("F.convTranspose2d", "bias", "one per output channel", (Executable) () -> F.convTranspose2d(x, big.transpose(0, 1), x)),
                Arguments.of("F.conv2dBackwardData", "inputShape", "larger than the padded input",
                        (Executable) () -> F.conv2dBackwardData(x, big, new long[] {1, 3, 4, 4})),
                Arguments.of("F.conv2dBackwardWeight", "weightShape", "larger than the padded input",
                        (Executable) () -> F.conv2dBackwardWeight(x, x, new long[] {3, 3, 9, 9}, false)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("bad")
    void badInputNamesTheCall(String call, String argument, String text, Executable run) {
        String message = assertRejects(call, argument, text, run).getMessage();
        assertTrue(message.startsWith(call + ": "), message);
    }
}
