package org.deepkern.resize;

import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tol;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
import org.deepkern.ops.ImagePyramid;
import org.deepkern.ops.InterpolateParams;
import org.deepkern.ops.InterpolationMode;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.Close;
import org.deepkern.testing.Images;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** F.interpolate in every mode, both layouts, forward and backward, against ResizeReference; the image pyramid. */
class ResizeTest {
    /** A mode with its flags. */
    record Mode(InterpolationMode mode, boolean align, boolean aa) {
        @Override
        public String toString() {
            return mode + (align ? " align" : "") + (aa ? " aa" : "");
        }

        InterpolateParams params(Layout layout) {
            return InterpolateParams.of(mode).withAlignCorners(align).withAntialias(aa).withLayout(layout);
        }

        String torchName() {
            return mode.name().toLowerCase().replace('_', '-');
        }
    }

    static final List<Mode> MODES = new ArrayList<>();

    static {
        MODES.add(new Mode(InterpolationMode.NEAREST, false, false));
        MODES.add(new Mode(InterpolationMode.NEAREST_EXACT, false, false));
        for (InterpolationMode m : new InterpolationMode[] {InterpolationMode.BILINEAR, InterpolationMode.BICUBIC})
            for (boolean align : new boolean[] {false, true})
                for (boolean aa : new boolean[] {false, true}) MODES.add(new Mode(m, align, aa));
    }

    /** {N, C, H, W, Ho, Wo}: up, down (by 2.6x: antialiasing's stretched filter), same, twice, from and to 1 pixel. */
    static final int[][] SIZES = {{2, 3, 5, 7, 11, 13}, {1, 2, 13, 11, 5, 4}, {1, 2, 6, 6, 6, 6}, {1, 3, 4, 5, 8, 10},
                                  {1, 1, 1, 1, 3, 2}, {2, 1, 3, 4, 1, 1}};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (Layout layout : Layout.values())
                    for (Mode m : MODES)
                        for (int[] s : SIZES) out.add(Arguments.of(d, t, layout, m, s));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3} {4}")
    @MethodSource("cases")
    void bySizeMatchesReference(Device device, DType dtype, Layout layout, Mode m, int[] s) {
        check(device, dtype, layout, m, s, null);
    }

    /** By scale factor: the output floor(in * s), the sampling by 1 / s (recompute_scale_factor=False). */
    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("scaleCases")
    void byScaleFactorMatchesReference(Device device, DType dtype, Layout layout, Mode m) {
        check(device, dtype, layout, m, new int[] {1, 2, 7, 9, 11, 4}, new double[] {1.7, 0.45});
    }

    static Stream<Arguments> scaleCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (Layout layout : Layout.values())
                    for (Mode m : MODES) out.add(Arguments.of(d, t, layout, m));
        });
        return out.stream();
    }

    private static void check(Device device, DType dtype, Layout layout, Mode m, int[] s, double[] scale) {
        try (Scope scope = Scope.open()) {
            int n = s[0], c = s[1], h = s[2], w = s[3], oh = s[4], ow = s[5];
            boolean nhwc = layout == Layout.NHWC;
            String what = "interpolate " + m + " " + Arrays.toString(s) + (scale != null ? " by " + Arrays.toString(scale) : "")
                    + " " + dtype + " " + layout + " on " + device;
            float[] xs = ActivationChecks.tensor(device, dtype, normal(n * c * h * w, 17 + h, 0, 1), n * c * h * w).toFloatArray();
            long[] xShape = nhwc ? new long[] {n, h, w, c} : new long[] {n, c, h, w};
            long[] oShape = nhwc ? new long[] {n, oh, ow, c} : new long[] {n, c, oh, ow};
            Tensor x = ActivationChecks.tensor(device, dtype, nhwc ? Images.toNhwc(xs, n, c, h, w) : xs, xShape);
            InterpolateParams p = m.params(layout);
            ActivationChecks.poisonNextAllocations(dtype, device, oShape);
            Tensor y = scale == null ? F.interpolate(x, new long[] {oh, ow}, p) : F.interpolate(x, scale, p);
            assertArrayEquals(oShape, y.shape(), what + ": shape");
            double[][] wh = ResizeReference.axis(m.mode(), h, oh, scale == null ? 0 : scale[0], m.align(), m.aa());
            double[][] ww = ResizeReference.axis(m.mode(), w, ow, scale == null ? 0 : scale[1], m.align(), m.aa());
            double[] ref = ResizeReference.apply(wh, ww, xs, n * c);
            float[] got = y.toFloatArray();
            if (nhwc) got = Images.toNchw(got, n, c, oh, ow);
            double t = tol(dtype);
            Close.assertClose(ref, got, t, t, what);
            float[] gs = ActivationChecks.tensor(device, dtype, normal(n * c * oh * ow, 3 + ow, 0, 1), n * c * oh * ow)
                    .toFloatArray();
            Tensor g = ActivationChecks.tensor(device, dtype, nhwc ? Images.toNhwc(gs, n, c, oh, ow) : gs, oShape);
            ActivationChecks.poisonNextAllocations(dtype, device, xShape);
            Tensor gx = scale == null ? F.interpolateBackward(g, xShape, p) : F.interpolateBackward(g, xShape, scale, p);
            float[] gotGrad = gx.toFloatArray();
            if (nhwc) gotGrad = Images.toNchw(gotGrad, n, c, h, w);
            double[] gref = ResizeReference.transpose(wh, ww, gs, n * c);
            double mag = 1;
            for (double v : gref) mag = Math.max(mag, Math.abs(v));
            Close.assertClose(gref, gotGrad, t, 2 * t * mag, what + " gradient");
        }
    }

    /** PyTorch (its answer checked against the reference first) on every mode and size, f32 NCHW. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void agreesWithTorch(Device device) {
        Oracle torch = Oracle.torch();
        try (Scope scope = Scope.open()) {
            for (Mode m : MODES)
                for (int[] s : SIZES) {
                    int n = s[0], c = s[1], h = s[2], w = s[3], oh = s[4], ow = s[5];
                    String what = "interpolate " + m + " " + Arrays.toString(s);
                    float[] xs = normal(n * c * h * w, 29 + w, 0, 1), gs = normal(n * c * oh * ow, 31, 0, 1);
                    long[] shape = {n, c, h, w};
                    Torch.Result r = Torch.interpolate(xs, shape, new long[] {oh, ow}, null, m.torchName(), m.align(), m.aa(), gs);
                    double[][] wh = ResizeReference.axis(m.mode(), h, oh, 0, m.align(), m.aa());
                    double[][] ww = ResizeReference.axis(m.mode(), w, ow, 0, m.align(), m.aa());
                    torch.vet(what, ResizeReference.apply(wh, ww, xs, n * c), r.value(), 1e-5, 1e-5);
                    torch.vet(what + " gradient", ResizeReference.transpose(wh, ww, gs, n * c), r.grads()[0], 1e-5, 1e-5);
                    float[] ours = F.interpolate(Tensor.of(xs, shape, device), new long[] {oh, ow}, m.params(Layout.NCHW))
                            .toFloatArray();
                    float[] oursGrad = F.interpolateBackward(Tensor.of(gs, new long[] {n, c, oh, ow}, device), shape,
                            m.params(Layout.NCHW)).toFloatArray();
                    torch.compare(() -> {
                        Close.assertClose(doubles(r.value()), ours, 1e-5, 1e-5, what + " vs torch");
                        Close.assertClose(doubles(r.grads()[0]), oursGrad, 1e-5, 1e-5, what + " gradient vs torch");
                    });
                }
            torch.judge();
        }
    }

    private static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /** MTCNN's pyramid: its levels, each one F.interpolate of its size, packed in order. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("layouts")
    void imagePyramidIsOneInterpolatePerLevel(Device device, Layout layout) {
        try (Scope scope = Scope.open()) {
            int n = 2, c = 3, h = 61, w = 47;
            long[] shape = layout == Layout.NHWC ? new long[] {n, h, w, c} : new long[] {n, c, h, w};
            Tensor x = Tensor.of(normal(n * c * h * w, 41, 0, 1), shape, device);
            InterpolateParams p = InterpolateParams.of(InterpolationMode.BILINEAR).withAntialias(true).withLayout(layout);
            try (ImagePyramid pyr = F.imagePyramid(x, 12, 20, 0.709, p)) {
                // MTCNN's loop: scale m = 12 / 20, kept while min(h, w) * scale >= 12
                List<long[]> sizes = new ArrayList<>();
                for (double sc = 0.6, side = 47 * 0.6; side >= 12; sc *= 0.709, side *= 0.709)
                    sizes.add(new long[] {(long) Math.ceil(h * sc), (long) Math.ceil(w * sc)});
                assertEquals(sizes.size(), pyr.levels().size(), "level count");
                long offset = 0;
                float[] packed = pyr.packed().toFloatArray();
                for (int l = 0; l < sizes.size(); l++) {
                    float[] want = F.interpolate(x, sizes.get(l), p).toFloatArray();
                    float[] level = pyr.levels().get(l).toFloatArray();
                    assertArrayEquals(want, level, "level " + l + " " + Arrays.toString(sizes.get(l)) + " on " + device);
                    assertArrayEquals(want, Arrays.copyOfRange(packed, (int) offset, (int) offset + want.length), "packed level " + l);
                    offset += want.length;
                }
                assertEquals(offset, packed.length, "packed size");
            }
        }
    }

    static Stream<Arguments> layouts() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (Layout layout : Layout.values()) out.add(Arguments.of(d, layout));
        });
        return out.stream();
    }

    @TestFactory
    Stream<DynamicTest> badInput() {
        record Bad(String what, String argument, String says, java.util.function.Function<Tensor, Object> call) {}
        InterpolateParams near = InterpolateParams.of(InterpolationMode.NEAREST), lin = InterpolateParams.of(InterpolationMode.BILINEAR);
        List<Bad> table = List.of(
                new Bad("null size", "size", "{height, width}", x -> F.interpolate(x, (long[]) null, near)),
                new Bad("zero size", "size", "each >= 1", x -> F.interpolate(x, new long[] {0, 3}, near)),
                new Bad("three sizes", "size", "{height, width}", x -> F.interpolate(x, new long[] {2, 3, 4}, near)),
                new Bad("null params", "params", "interpolation parameters", x -> F.interpolate(x, new long[] {2, 3}, null)),
                new Bad("align corners with nearest", "params.alignCorners", "bilinear and bicubic modes only",
                        x -> F.interpolate(x, new long[] {2, 3}, near.withAlignCorners(true))),
                new Bad("antialias with nearest", "params.antialias", "bilinear and bicubic modes only",
                        x -> F.interpolate(x, new long[] {2, 3}, near.withAntialias(true))),
                new Bad("negative scale", "scaleFactor", "finite scale factors > 0", x -> F.interpolate(x, new double[] {-1, 2}, lin)),
                new Bad("NaN scale", "scaleFactor", "finite scale factors > 0", x -> F.interpolate(x, new double[] {Double.NaN, 2}, lin)),
                new Bad("scale to nothing", "scaleFactor", "empty", x -> F.interpolate(x, new double[] {0.1, 1}, lin)),
                new Bad("3-D x", "x", "4-D", x -> F.interpolate(x.view(3, 4, 5), new long[] {2, 2}, lin)),
                new Bad("backward: wrong inputShape batch", "inputShape", "batch and channels",
                        x -> F.interpolateBackward(x, new long[] {2, 3, 4, 5}, lin)),
                new Bad("pyramid: factor 1", "factor", "(0, 1)", x -> F.imagePyramid(x, 12, 20, 1, lin)),
                new Bad("pyramid: minObject below minSize", "minObject", ">= min_size", x -> F.imagePyramid(x, 12, 6, 0.7, lin)),
                new Bad("pyramid: too many levels", "factor", "more than 32 levels",
                        x -> F.imagePyramid(Tensor.zeros(new long[] {1, 1, 900, 900}, DType.F32, x.device()), 1, 1, 0.99, lin)));
        return TestDevices.host().flatMap(d -> table.stream().map(b -> DynamicTest.dynamicTest(b.what() + " on " + d, () -> {
            try (Scope scope = Scope.open()) {
                Tensor x = Tensor.zeros(new long[] {1, 3, 4, 5}, DType.F32, d);
                BadInput.assertRejects(b.what(), b.argument(), b.says(), () -> b.call().apply(x));
            }
        })));
    }
}
