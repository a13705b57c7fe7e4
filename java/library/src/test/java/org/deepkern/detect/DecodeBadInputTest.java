package org.deepkern.detect;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Invalid decoder calls, one table per host device: each names the Java call and the argument. */
class DecodeBadInputTest {
    private static final double[] STRIDES = {8, 16};
    private static final double[][] ANCHORS = {{10, 13, 16, 30}, {30, 61, 62, 45}};

    private static Tensor of(Device d, DType t, long... shape) {
        return Tensor.zeros(shape, t, d);
    }

    /** Two v5 levels of 2 anchors and K classes: [n, 2 (5 + K), h, w]. */
    private static List<Tensor> v5(Device d, int k) {
        return List.of(of(d, DType.F32, 2, 2 * (5 + k), 4, 4), of(d, DType.F32, 2, 2 * (5 + k), 2, 2));
    }

    private static List<BadInput.Case> table() {
        List<BadInput.Case> t = new ArrayList<>();
        t.add(new BadInput.Case("yoloV5: null heads", "heads", "list of tensors", d -> Decoders.yoloV5(null, STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: no levels", "heads", "1 .. 4 levels", d -> Decoders.yoloV5(List.of(), new double[0], new double[0][], 3)));
        t.add(new BadInput.Case("yoloV8: five levels", "heads", "1 .. 4 levels", d -> {
            List<Tensor> five = new ArrayList<>();
            for (int l = 0; l < 5; l++) five.add(of(d, DType.F32, 1, 64 + 3, 2, 2));
            Decoders.yoloV8(five, new double[] {8, 16, 32, 64, 128}, 3);
        }));
        t.add(new BadInput.Case("yoloV5: a null level", "heads[1]", "expected a tensor",
                d -> Decoders.yoloV5(Arrays.asList(of(d, DType.F32, 2, 16, 4, 4), null), STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: wrong channel count", "heads[1]", "16 channels",
                d -> Decoders.yoloV5(List.of(of(d, DType.F32, 2, 16, 4, 4), of(d, DType.F32, 2, 17, 2, 2)), STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV3: classes disagree with channels", "heads[0]", "channels",
                d -> Decoders.yoloV3(v5(d, 3), STRIDES, ANCHORS, 4)));
        t.add(new BadInput.Case("yoloV5: N differs across levels", "heads[1]", "N = 2",
                d -> Decoders.yoloV5(List.of(of(d, DType.F32, 2, 16, 4, 4), of(d, DType.F32, 3, 16, 2, 2)), STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: a 3-D head", "heads[0]", "[N, C, H, W]",
                d -> Decoders.yoloV5(List.of(of(d, DType.F32, 16, 4, 4), of(d, DType.F32, 2, 16, 2, 2)), STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: mixed dtypes", "heads[1]", "dtype",
                d -> Decoders.yoloV5(List.of(of(d, DType.F32, 2, 16, 4, 4), of(d, DType.BF16, 2, 16, 2, 2)), STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: integer heads", "heads[0]", "floating",
                d -> Decoders.yoloV5(List.of(of(d, DType.I32, 2, 16, 4, 4), of(d, DType.I32, 2, 16, 2, 2)), STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: an empty image", "heads[0]", "H, W",
                d -> Decoders.yoloV5(List.of(of(d, DType.F32, 2, 16, 0, 4), of(d, DType.F32, 2, 16, 2, 2)), STRIDES, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: strides for one level", "strides", "one stride per level",
                d -> Decoders.yoloV5(v5(d, 3), new double[] {8}, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: null strides", "strides", "one stride per level", d -> Decoders.yoloV5(v5(d, 3), null, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV5: zero stride", "strides[1]", "> 0", d -> Decoders.yoloV5(v5(d, 3), new double[] {8, 0}, ANCHORS, 3)));
        t.add(new BadInput.Case("yoloV8: NaN stride", "strides[0]", "> 0",
                d -> Decoders.yoloV8(List.of(of(d, DType.F32, 1, 67, 2, 2)), new double[] {Double.NaN}, 3)));
        t.add(new BadInput.Case("yoloV5: null anchors", "anchors", "anchors of each level", d -> Decoders.yoloV5(v5(d, 3), STRIDES, null, 3)));
        t.add(new BadInput.Case("yoloV5: anchors for one level", "anchors", "anchors of each level",
                d -> Decoders.yoloV5(v5(d, 3), STRIDES, new double[][] {{1, 2, 3, 4}}, 3)));
        t.add(new BadInput.Case("yoloV5: half an anchor", "anchors[1]", "(w, h) pairs",
                d -> Decoders.yoloV5(v5(d, 3), STRIDES, new double[][] {{1, 2, 3, 4}, {1, 2, 3}}, 3)));
        t.add(new BadInput.Case("yoloV3: ragged anchors", "anchors[1]", "as many anchors as level 0",
                d -> Decoders.yoloV3(v5(d, 3), STRIDES, new double[][] {{1, 2, 3, 4}, {1, 2}}, 3)));
        t.add(new BadInput.Case("yoloV3: nine anchors", "anchors[0]", "1 .. 8",
                d -> Decoders.yoloV3(v5(d, 3), STRIDES, new double[][] {new double[18], new double[18]}, 3)));
        t.add(new BadInput.Case("yoloV5: negative anchor", "anchors[0]", "> 0",
                d -> Decoders.yoloV5(v5(d, 3), STRIDES, new double[][] {{1, -2, 3, 4}, {1, 2, 3, 4}}, 3)));
        t.add(new BadInput.Case("yoloV5: no classes", "numClasses", ">= 1",
                d -> Decoders.yoloV5(List.of(of(d, DType.F32, 2, 10, 4, 4), of(d, DType.F32, 2, 10, 2, 2)), STRIDES, ANCHORS, 0)));
        t.add(new BadInput.Case("yoloV8: one DFL bin", "regMax", ">= 2",
                d -> Decoders.yoloV8(List.of(of(d, DType.F32, 1, 7, 2, 2)), new double[] {8}, 3, 1)));
        t.add(new BadInput.Case("yoloV8: wrong channel count", "heads[0]", "67 channels",
                d -> Decoders.yoloV8(List.of(of(d, DType.F32, 1, 66, 2, 2)), new double[] {8}, 3)));
        t.add(new BadInput.Case("centerNet: null heatmap", "heatmap", "expected a tensor",
                d -> Decoders.centerNet(null, of(d, DType.F32, 1, 2, 4, 4), null)));
        t.add(new BadInput.Case("centerNet: null wh", "wh", "expected a tensor", d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), null, null)));
        t.add(new BadInput.Case("centerNet: 3-D heatmap", "heatmap", "[N, C, H, W]",
                d -> Decoders.centerNet(of(d, DType.F32, 3, 4, 4), of(d, DType.F32, 1, 2, 4, 4), null, 5, 4)));
        t.add(new BadInput.Case("centerNet: wh of other size", "wh", "[N, 2, H, W]",
                d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), of(d, DType.F32, 1, 2, 4, 5), null, 5, 4)));
        t.add(new BadInput.Case("centerNet: offset of 3 channels", "offset", "[N, 2, H, W]",
                d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), of(d, DType.F32, 1, 2, 4, 4), of(d, DType.F32, 1, 3, 4, 4), 5, 4)));
        t.add(new BadInput.Case("centerNet: bf16 wh with an f32 heatmap", "wh", "dtype",
                d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), of(d, DType.BF16, 1, 2, 4, 4), null, 5, 4)));
        t.add(new BadInput.Case("centerNet: k = 0", "k", "1 .. min(C H W", d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), of(d, DType.F32, 1, 2, 4, 4), null, 0, 4)));
        t.add(new BadInput.Case("centerNet: k above C H W", "k", "= 48, got 49",
                d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), of(d, DType.F32, 1, 2, 4, 4), null, 49, 4)));
        t.add(new BadInput.Case("centerNet: k above the top-K's limit", "k", "4096",
                d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 64, 64), of(d, DType.F32, 1, 2, 64, 64), null, 5000, 4)));
        t.add(new BadInput.Case("centerNet: the default k above C H W", "k", "got 100",
                d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), of(d, DType.F32, 1, 2, 4, 4), null)));
        t.add(new BadInput.Case("centerNet: zero down ratio", "downRatio", "> 0",
                d -> Decoders.centerNet(of(d, DType.F32, 1, 3, 4, 4), of(d, DType.F32, 1, 2, 4, 4), null, 5, 0)));
        return t;
    }

    @TestFactory
    Stream<DynamicTest> rejected() {
        return BadInput.onHostDevices(table());
    }

    /** A level on another device names it. */
    @TestFactory
    Stream<DynamicTest> otherDevice() {
        if (TestDevices.host().count() < 2) return Stream.empty();
        List<Device> ds = TestDevices.host().toList();
        return Stream.of(dynamicTest("heads[1] on another device", () -> {
            try (Scope s = Scope.open()) {
                BadInput.assertRejects("heads[1]", "move one with to(device)", () -> Decoders.yoloV5(
                        List.of(of(ds.get(0), DType.F32, 2, 16, 4, 4), of(ds.get(1), DType.F32, 2, 16, 2, 2)), STRIDES, ANCHORS, 3));
            }
        }));
    }

    /** After the rejections, a valid call on the same device still works. */
    @TestFactory
    Stream<DynamicTest> validAfterwards() {
        return TestDevices.host().map(d -> dynamicTest("yoloV5 on " + d, () -> {
            try (Scope s = Scope.open(); Detections det = Decoders.yoloV5(v5(d, 3), STRIDES, ANCHORS, 3)) {
                Assertions.assertArrayEquals(new long[] {2, 2 * (16 + 4), 4}, det.boxes().shape());
            }
        }));
    }
}
