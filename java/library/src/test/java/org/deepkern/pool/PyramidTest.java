package org.deepkern.pool;

import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.nn.SPPF;
import org.deepkern.nn.SpatialPyramidPooling;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.deepkern.ops.Pool2dParams;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.Close;
import org.deepkern.testing.EmuSchedules;
import org.deepkern.testing.Images;
import org.deepkern.testing.RowChecks;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** SPP and SPPF against PoolReference's pools, both layouts, every dtype; SPPF against SPP of 5, 9, 13. */
class PyramidTest {
    /** Odd sizes, bins larger than the image, several SPPF tiles, an empty batch, a plane past SPP's shared stage. */
    static final int[][] IMAGES = {{2, 3, 13, 11}, {1, 2, 5, 7}, {3, 5, 40, 35}, {0, 2, 4, 4}, {1, 1, 130, 100}};

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : RowChecks.DTYPES)
                for (Layout layout : Layout.values())
                    for (int[] image : IMAGES) out.add(Arguments.of(d, t, layout, image));
        });
        return out.stream();
    }

    /** x [n, c, h, w] (NCHW values, rounded to dtype) as a tensor in layout. */
    private static Tensor image(Device device, DType dtype, Layout layout, float[] xs, int[] s) {
        boolean nhwc = layout == Layout.NHWC;
        long[] shape = nhwc ? new long[] {s[0], s[2], s[3], s[1]} : new long[] {s[0], s[1], s[2], s[3]};
        return ActivationChecks.tensor(device, dtype, nhwc ? Images.toNhwc(xs, s[0], s[1], s[2], s[3]) : xs, shape);
    }

    private static float[] values(Device device, DType dtype, int[] s, long seed) {
        int n = s[0] * s[1] * s[2] * s[3];
        return ActivationChecks.tensor(device, dtype, normal(n, seed, 0, 1), n).toFloatArray();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("cases")
    void sppIsTheAdaptiveMaxPoolsConcatenated(Device device, DType dtype, Layout layout, int[] s) {
        try (Scope scope = Scope.open()) {
            float[] xs = values(device, dtype, s, 7 + s[2]);
            Tensor x = image(device, dtype, layout, xs, s);
            for (int[] levels : new int[][] {{1, 2, 4}, {6, 3, 2, 1}}) {
                String what = "spp " + Arrays.toString(levels) + " of " + Arrays.toString(s) + " " + dtype + " " + layout
                        + " on " + device;
                int bins = Arrays.stream(levels).map(l -> l * l).sum();
                double[] ref = new double[s[0] * s[1] * bins];
                int before = 0;
                for (int l : levels) {
                    double[] level = PoolReference.forward(PoolReference.Spec.adaptive(true, l, l), xs, s[0], s[1], s[2], s[3])
                            .value();
                    int per = s[1] * l * l;
                    for (int b = 0; b < s[0]; b++) System.arraycopy(level, b * per, ref, b * s[1] * bins + s[1] * before, per);
                    before += l * l;
                }
                Tensor y = F.spatialPyramidPool(x, levels, layout);
                assertArrayEquals(new long[] {s[0], (long) s[1] * bins}, y.shape(), what);
                Close.assertClose(ref, y.toFloatArray(), 0, 0, what);
            }
        }
    }

    /** SPPF(5) = concat(x, maxPool 5, maxPool 9, maxPool 13) (stride 1, same padding): against the reference and F.maxPool2d. */
    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("cases")
    void sppfEqualsSppWithKernels5_9_13(Device device, DType dtype, Layout layout, int[] s) {
        try (Scope scope = Scope.open()) {
            float[] xs = values(device, dtype, s, 3 + s[3]);
            Tensor x = image(device, dtype, layout, xs, s);
            for (int k : new int[] {5, 3}) {
                String what = "sppf k" + k + " of " + Arrays.toString(s) + " " + dtype + " " + layout + " on " + device;
                int plane = s[2] * s[3], c = s[1];
                double[] ref = new double[s[0] * 4 * c * plane];
                Tensor[] pools = new Tensor[4];
                for (int stage = 0; stage < 4; stage++) {
                    int kk = 1 + 2 * stage * (k / 2);  // k, 2k - 1, 3k - 2
                    int[] window = {kk, kk, 1, 1, kk / 2, kk / 2, 1, 1};
                    double[] pooled = PoolReference.forward(PoolReference.Spec.windowed(true, window, false, false, 0), xs,
                            s[0], c, s[2], s[3]).value();
                    for (int b = 0; b < s[0]; b++)
                        System.arraycopy(pooled, b * c * plane, ref, (b * 4 + stage) * c * plane, c * plane);
                    pools[stage] = F.maxPool2d(x, Pool2dParams.of(kk).withStride(1).withPadding(kk / 2).withLayout(layout));
                }
                Tensor y = F.sppf(x, k, layout);
                float[] got = y.toFloatArray();
                if (layout == Layout.NHWC) got = Images.toNchw(got, s[0], 4 * c, s[2], s[3]);
                Close.assertClose(ref, got, 0, 0, what);
                Tensor spp = Tensor.cat(List.of(pools), layout == Layout.NHWC ? 3 : 1);
                assertArrayEquals(spp.toFloatArray(), y.toFloatArray(), what + " vs SPP of max pools");
            }
        }
    }

    /** SPP and SPPF share shared memory across their barriers: the same bits under every emulated thread order. */
    @org.junit.jupiter.api.Test
    void sameInEveryEmulatedOrder() {
        EmuSchedules.assumeEmu();
        Device emu = TestDevices.host().filter(d -> d.type() == Device.Type.EMU).findFirst().orElseThrow();
        float[] v = normal(2 * 3 * 37 * 35, 13, 0, 1);
        for (Layout layout : Layout.values()) {
            EmuSchedules.sameInEveryOrder("sppf " + layout, 7, () -> {
                try (Scope scope = Scope.open()) {
                    return F.sppf(Tensor.of(v, new long[] {2, 3, 37, 35}, emu), 5, layout).toFloatArray();
                }
            });
            EmuSchedules.sameInEveryOrder("spp " + layout, 7, () -> {
                try (Scope scope = Scope.open()) {
                    return F.spatialPyramidPool(Tensor.of(v, new long[] {2, 3, 37, 35}, emu), new int[] {1, 2, 4}, layout)
                            .toFloatArray();
                }
            });
        }
    }

    @TestFactory
    Stream<DynamicTest> modulesAreTheFunctions() {
        return TestDevices.host().map(d -> DynamicTest.dynamicTest("modules on " + d, () -> {
            try (Scope scope = Scope.open()) {
                Tensor x = Tensor.of(normal(2 * 3 * 9 * 10, 5, 0, 1), new long[] {2, 3, 9, 10}, d);
                try (SPPF sppf = new SPPF(); SpatialPyramidPooling spp = new SpatialPyramidPooling(1, 2, 4)) {
                    assertArrayEquals(F.sppf(x, 5, Layout.NCHW).toFloatArray(), sppf.forward(x).toFloatArray());
                    assertArrayEquals(F.spatialPyramidPool(x, new int[] {1, 2, 4}, Layout.NCHW).toFloatArray(),
                            spp.forward(x).toFloatArray());
                }
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> badInput() {
        record Bad(String what, String argument, String says, java.util.function.Function<Tensor, Tensor> call) {}
        List<Bad> table = List.of(
                new Bad("no levels", "levels", "expected 1 to 8", x -> F.spatialPyramidPool(x, new int[0], Layout.NCHW)),
                new Bad("nine levels", "levels", "expected 1 to 8", x -> F.spatialPyramidPool(x, new int[9], Layout.NCHW)),
                new Bad("null levels", "levels", "grid sizes", x -> F.spatialPyramidPool(x, null, Layout.NCHW)),
                new Bad("level 0", "levels", "level 1 must be a grid size", x -> F.spatialPyramidPool(x, new int[] {1, 0}, Layout.NCHW)),
                new Bad("null layout", "layout", "NCHW or NHWC", x -> F.sppf(x, 5, null)),
                new Bad("even kernel", "kernel", "must be odd", x -> F.sppf(x, 4, Layout.NCHW)),
                new Bad("kernel 15", "kernel", "in [1, 13]", x -> F.sppf(x, 15, Layout.NCHW)),
                new Bad("3-D x", "x", "4-D", x -> F.sppf(x.view(3, 4, 5), 5, Layout.NCHW)),
                new Bad("null x", "x", "expected a tensor", x -> F.sppf(null, 5, Layout.NCHW)));
        return TestDevices.host().flatMap(d -> table.stream().map(b -> DynamicTest.dynamicTest(b.what() + " on " + d, () -> {
            try (Scope scope = Scope.open()) {
                Tensor x = Tensor.zeros(new long[] {1, 3, 4, 5}, DType.F32, d);
                BadInput.assertRejects(b.what(), b.argument(), b.says(), () -> b.call().apply(x));
            }
        })));
    }
}
