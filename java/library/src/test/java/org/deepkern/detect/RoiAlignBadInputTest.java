package org.deepkern.detect;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
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

/** Invalid RoIAlign calls, one table per host device: each names the Java call and the argument. */
class RoiAlignBadInputTest {
    private static Tensor of(Device d, DType t, long... shape) {
        return Tensor.zeros(shape, t, d);
    }

    private static Tensor f32(Device d, long... shape) {
        return of(d, DType.F32, shape);
    }

    private static Tensor image(Device d) {
        return f32(d, 2, 3, 8, 8);
    }

    private static Tensor rois(Device d) {
        return f32(d, 4, 5);
    }

    private static Tensor align(Tensor x, Tensor b) {
        return Detect.roiAlign(x, b, 2, 2, 0.25, -1, false);
    }

    private static Tensor back(Tensor g, Tensor b, long... shape) {
        return Detect.roiAlignBackward(g, b, shape, 0.25, -1, false);
    }

    private static List<BadInput.Case> table() {
        List<BadInput.Case> t = new ArrayList<>();
        t.add(new BadInput.Case("roiAlign: null input", "input", "expected a tensor", d -> align(null, rois(d))));
        t.add(new BadInput.Case("roiAlign: null boxes", "boxes", "expected a tensor", d -> align(image(d), null)));
        t.add(new BadInput.Case("roiAlign: input 3-D", "input", "[N, C, H, W]", d -> align(f32(d, 3, 8, 8), rois(d))));
        t.add(new BadInput.Case("roiAlign: input H = 0", "input", "1 <= H, W", d -> align(f32(d, 1, 3, 0, 8), rois(d))));
        t.add(new BadInput.Case("roiAlign: input W over 2^24", "input", "2^24",
                d -> align(Tensor.zeros(new long[] {1, 1, 1, (1L << 24) + 1}, DType.F16, d), of(d, DType.F16, 1, 5))));
        t.add(new BadInput.Case("roiAlign: integer input", "input", "floating", d -> align(of(d, DType.I32, 1, 1, 4, 4), rois(d))));
        t.add(new BadInput.Case("roiAlign: boxes [K, 4]", "boxes", "[K, 5]", d -> align(image(d), f32(d, 4, 4))));
        t.add(new BadInput.Case("roiAlign: boxes 1-D", "boxes", "[K, 5]", d -> align(image(d), f32(d, 5))));
        t.add(new BadInput.Case("roiAlign: boxes 3-D", "boxes", "[K, 5]", d -> align(image(d), f32(d, 1, 4, 5))));
        t.add(new BadInput.Case("roiAlign: boxes of another dtype", "boxes", "dtype", d -> align(image(d), of(d, DType.BF16, 4, 5))));
        t.add(new BadInput.Case("roiAlign: outH 0", "outH", ">= 1", d -> Detect.roiAlign(image(d), rois(d), 0, 2, 1, 2, true)));
        t.add(new BadInput.Case("roiAlign: outW negative", "outW", ">= 1", d -> Detect.roiAlign(image(d), rois(d), 2, -3, 1, 2, true)));
        t.add(new BadInput.Case("roiAlign: spatialScale 0", "spatialScale", "> 0", d -> Detect.roiAlign(image(d), rois(d), 2, 2, 0, 2, true)));
        t.add(new BadInput.Case("roiAlign: negative spatialScale", "spatialScale", "> 0",
                d -> Detect.roiAlign(image(d), rois(d), 2, 2, -0.25, 2, true)));
        t.add(new BadInput.Case("roiAlign: NaN spatialScale", "spatialScale", "got nan",
                d -> Detect.roiAlign(image(d), rois(d), 2, 2, Double.NaN, 2, true)));
        t.add(new BadInput.Case("roiAlign: infinite spatialScale", "spatialScale", "finite",
                d -> Detect.roiAlign(image(d), rois(d), 2, 2, Double.POSITIVE_INFINITY, 2, true)));
        t.add(new BadInput.Case("roiAlign: spatialScale 0 in f32", "spatialScale", "got 1e-50",
                d -> Detect.roiAlign(image(d), rois(d), 2, 2, 1e-50, 2, true)));
        t.add(new BadInput.Case("roiAlign: spatialScale infinite in f32", "spatialScale", "(in f32)",
                d -> Detect.roiAlign(image(d), rois(d), 2, 2, 1e39, 2, true)));

        t.add(new BadInput.Case("roiAlignBackward: null gradOut", "gradOut", "expected a tensor", d -> back(null, rois(d), 2, 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: null boxes", "boxes", "expected a tensor", d -> back(f32(d, 4, 3, 2, 2), null, 2, 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: null inputShape", "inputShape", "expected a shape",
                d -> Detect.roiAlignBackward(f32(d, 4, 3, 2, 2), rois(d), null, 0.25, -1, false)));
        t.add(new BadInput.Case("roiAlignBackward: inputShape of 3 dims", "inputShape", "[N, C, H, W]",
                d -> back(f32(d, 4, 3, 2, 2), rois(d), 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: negative inputShape", "inputShape", ">= 0", d -> back(f32(d, 4, 3, 2, 2), rois(d), 2, -3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: inputShape H = 0", "inputShape", "1 <= H, W",
                d -> back(f32(d, 4, 3, 2, 2), rois(d), 2, 3, 0, 8)));
        t.add(new BadInput.Case("roiAlignBackward: channels differ", "inputShape", "channels",
                d -> back(f32(d, 4, 3, 2, 2), rois(d), 2, 4, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: gradOut 3-D", "gradOut", "[K, C, output_h, output_w]",
                d -> back(f32(d, 4, 3, 4), rois(d), 2, 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: gradOut of zero width", "gradOut", "output sizes",
                d -> back(f32(d, 4, 3, 2, 0), rois(d), 2, 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: integer gradOut", "gradOut", "floating",
                d -> back(of(d, DType.I64, 4, 3, 2, 2), rois(d), 2, 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: one box short", "boxes", "K = 4", d -> back(f32(d, 4, 3, 2, 2), f32(d, 3, 5), 2, 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: boxes of another dtype", "boxes", "dtype",
                d -> back(f32(d, 4, 3, 2, 2), of(d, DType.F16, 4, 5), 2, 3, 8, 8)));
        t.add(new BadInput.Case("roiAlignBackward: NaN spatialScale", "spatialScale", "> 0",
                d -> Detect.roiAlignBackward(f32(d, 4, 3, 2, 2), rois(d), new long[] {2, 3, 8, 8}, Double.NaN, -1, false)));
        return t;
    }

    @TestFactory
    Stream<DynamicTest> rejected() {
        return BadInput.onHostDevices(table());
    }

    /** A call on tensors of two devices names both. */
    @TestFactory
    Stream<DynamicTest> otherDevice() {
        if (TestDevices.host().count() < 2) return Stream.empty();
        List<Device> ds = TestDevices.host().toList();
        return Stream.of(dynamicTest("boxes on another device", () -> {
            try (Scope s = Scope.open()) {
                BadInput.assertRejects("boxes", "move one with to(device)", () -> align(image(ds.get(0)), rois(ds.get(1))));
                BadInput.assertRejects("boxes", "move one with to(device)",
                        () -> back(f32(ds.get(0), 4, 3, 2, 2), rois(ds.get(1)), 2, 3, 8, 8));
            }
        }));
    }

    /** After every rejection, a valid call on the same device still works. */
    @TestFactory
    Stream<DynamicTest> validAfterwards() {
        return TestDevices.host().map(d -> dynamicTest("roiAlign on " + d, () -> {
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, new long[] {1, 1, 2, 2}, d);
                Tensor b = Tensor.of(new float[] {0, 0, 0, 1, 1}, new long[] {1, 5}, d);
                // one sample at (0.5, 0.5): the mean of the four pixels
                Assertions.assertArrayEquals(new float[] {2.5f}, Detect.roiAlign(x, b, 1, 1, 1, 1, false).toFloatArray());
                Assertions.assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f},
                        Detect.roiAlignBackward(Tensor.of(new float[] {1}, new long[] {1, 1, 1, 1}, d), b, new long[] {1, 1, 2, 2},
                                1, 1, false).toFloatArray());
            }
        }));
    }
}
