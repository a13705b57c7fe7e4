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

/** Invalid detection calls, one table per host device: each names the Java call and the argument. */
class DetectBadInputTest {
    private static Tensor f32(Device d, long... shape) {
        return Tensor.zeros(shape, DType.F32, d);
    }

    private static Tensor of(Device d, DType t, long... shape) {
        return Tensor.zeros(shape, t, d);
    }

    private static List<BadInput.Case> table() {
        List<BadInput.Case> t = new ArrayList<>();
        t.add(new BadInput.Case("nms: null boxes", "boxes", "expected a tensor", d -> Detect.nms(null, f32(d, 3), 0.5)));
        t.add(new BadInput.Case("nms: null scores", "scores", "expected a tensor", d -> Detect.nms(f32(d, 3, 4), null, 0.5)));
        t.add(new BadInput.Case("nms: boxes [N, 5]", "boxes", "4 coordinates", d -> Detect.nms(f32(d, 3, 5), f32(d, 3), 0.5)));
        t.add(new BadInput.Case("nms: boxes 3-D", "boxes", "[N, 4]", d -> Detect.nms(f32(d, 1, 3, 4), f32(d, 3), 0.5)));
        t.add(new BadInput.Case("nms: boxes 1-D", "boxes", "[N, 4]", d -> Detect.nms(f32(d, 4), f32(d, 1), 0.5)));
        t.add(new BadInput.Case("nms: integer boxes", "boxes", "floating", d -> Detect.nms(of(d, DType.I32, 3, 4), f32(d, 3), 0.5)));
        t.add(new BadInput.Case("nms: scores length mismatch", "scores", "one score per box", d -> Detect.nms(f32(d, 3, 4), f32(d, 4), 0.5)));
        t.add(new BadInput.Case("nms: scores 2-D", "scores", "one score per box", d -> Detect.nms(f32(d, 3, 4), f32(d, 3, 1), 0.5)));
        t.add(new BadInput.Case("nms: scores of another dtype", "scores", "dtype", d -> Detect.nms(f32(d, 3, 4), of(d, DType.F16, 3), 0.5)));
        t.add(new BadInput.Case("nms: NaN threshold", "iouThreshold", "NaN", d -> Detect.nms(f32(d, 3, 4), f32(d, 3), Double.NaN)));
        t.add(new BadInput.Case("batchedNms: null classes", "classes", "expected a tensor",
                d -> Detect.batchedNms(f32(d, 3, 4), f32(d, 3), null, 0.5)));
        t.add(new BadInput.Case("batchedNms: f32 classes", "classes", "integer dtype",
                d -> Detect.batchedNms(f32(d, 3, 4), f32(d, 3), f32(d, 3), 0.5)));
        t.add(new BadInput.Case("batchedNms: classes length mismatch", "classes", "one class per box",
                d -> Detect.batchedNms(f32(d, 3, 4), f32(d, 3), of(d, DType.I64, 2), 0.5)));
        t.add(new BadInput.Case("batchedNms: NaN threshold", "iouThreshold", "NaN",
                d -> Detect.batchedNms(f32(d, 3, 4), f32(d, 3), of(d, DType.I32, 3), Double.NaN)));
        t.add(new BadInput.Case("boxConvert: null inFmt", "inFmt", "BoxFormat", d -> Detect.boxConvert(f32(d, 3, 4), null, BoxFormat.XYXY)));
        t.add(new BadInput.Case("boxConvert: null outFmt", "outFmt", "BoxFormat", d -> Detect.boxConvert(f32(d, 3, 4), BoxFormat.XYWH, null)));
        t.add(new BadInput.Case("boxConvert: last dim 3", "boxes", "4 coordinates",
                d -> Detect.boxConvert(f32(d, 3, 3), BoxFormat.XYWH, BoxFormat.XYXY)));
        t.add(new BadInput.Case("boxConvert: rank 0", "boxes", "[..., 4]", d -> Detect.boxConvert(f32(d), BoxFormat.XYWH, BoxFormat.XYXY)));
        t.add(new BadInput.Case("boxArea: last dim 2", "boxes", "4 coordinates", d -> Detect.boxArea(f32(d, 2, 2))));
        t.add(new BadInput.Case("boxArea: i64 boxes", "boxes", "floating", d -> Detect.boxArea(of(d, DType.I64, 2, 4))));
        t.add(new BadInput.Case("boxIou: a 3-D", "a", "[N, 4]", d -> Detect.boxIou(f32(d, 1, 2, 4), f32(d, 2, 4))));
        t.add(new BadInput.Case("boxIou: b [M, 2]", "b", "4 coordinates", d -> Detect.boxIou(f32(d, 2, 4), f32(d, 2, 2))));
        t.add(new BadInput.Case("boxIou: mixed dtypes", "b", "dtype", d -> Detect.boxIou(f32(d, 2, 4), of(d, DType.BF16, 2, 4))));
        t.add(new BadInput.Case("boxIou: null b", "b", "expected a tensor", d -> Detect.boxIou(f32(d, 2, 4), null)));
        t.add(new BadInput.Case("clipBoxes: negative height", "height", ">= 0", d -> Detect.clipBoxes(f32(d, 2, 4), -1, 5)));
        t.add(new BadInput.Case("clipBoxes: negative width", "width", ">= 0", d -> Detect.clipBoxes(f32(d, 2, 4), 5, -3)));
        t.add(new BadInput.Case("clipBoxes: last dim 5", "boxes", "4 coordinates", d -> Detect.clipBoxes(f32(d, 2, 5), 5, 5)));
        PostprocessParams p = PostprocessParams.defaults();
        t.add(new BadInput.Case("postprocess: null boxes", "boxes", "expected a tensor", d -> Detect.postprocess(null, f32(d, 1, 3, 2), p)));
        t.add(new BadInput.Case("postprocess: null params", "params", "PostprocessParams",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), null)));
        t.add(new BadInput.Case("postprocess: boxes [N, B, 5]", "boxes", "[N, B, 4]", d -> Detect.postprocess(f32(d, 1, 3, 5), f32(d, 1, 3, 2), p)));
        t.add(new BadInput.Case("postprocess: boxes 2-D", "boxes", "[N, B, 4]", d -> Detect.postprocess(f32(d, 3, 4), f32(d, 1, 3, 2), p)));
        t.add(new BadInput.Case("postprocess: integer boxes", "boxes", "floating",
                d -> Detect.postprocess(of(d, DType.I32, 1, 3, 4), f32(d, 1, 3, 2), p)));
        t.add(new BadInput.Case("postprocess: scores for other boxes", "scores", "[N, B, C] = [1, 3, C >= 1]",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 4, 2), p)));
        t.add(new BadInput.Case("postprocess: scores without classes", "scores", "[N, B, C]",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 0), p)));
        t.add(new BadInput.Case("postprocess: scores of another dtype", "scores", "dtype",
                d -> Detect.postprocess(f32(d, 1, 3, 4), of(d, DType.BF16, 1, 3, 2), p)));
        t.add(new BadInput.Case("postprocess: 3-D scores with classes", "scores", "one score per box",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), of(d, DType.I64, 1, 3), p)));
        t.add(new BadInput.Case("postprocess: f32 classes", "classes", "integer dtype",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3), f32(d, 1, 3), p)));
        t.add(new BadInput.Case("postprocess: classes for other boxes", "classes", "one class per box",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3), of(d, DType.I32, 1, 2), p)));
        t.add(new BadInput.Case("postprocess: NaN score threshold", "params.scoreThreshold", "NaN",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), p.withScoreThreshold(Double.NaN))));
        t.add(new BadInput.Case("postprocess: NaN IoU threshold", "params.iouThreshold", "NaN",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), p.withIouThreshold(Double.NaN))));
        t.add(new BadInput.Case("postprocess: top 0", "params.topK", "1 .. 4096",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), p.withTopK(0))));
        t.add(new BadInput.Case("postprocess: top 4097", "params.topK", "1 .. 4096",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), p.withTopK(4097))));
        t.add(new BadInput.Case("postprocess: no slots", "params.maxDetections", "1 .. 4096",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), p.withMaxDetections(0))));
        t.add(new BadInput.Case("postprocess: background -2", "params.backgroundClass", "-1 (none)",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), p.withBackgroundClass(-2))));
        t.add(new BadInput.Case("postprocess: null box format", "params.boxFormat", "BoxFormat",
                d -> Detect.postprocess(f32(d, 1, 3, 4), f32(d, 1, 3, 2), p.withBoxFormat(null))));
        t.add(new BadInput.Case("postprocess: null detections", "detections", "Detections", d -> Detect.postprocess(null, p)));
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
        return Stream.of(dynamicTest("scores on another device", () -> {
            try (Scope s = Scope.open()) {
                BadInput.assertRejects("scores", "move one with to(device)",
                        () -> Detect.nms(f32(ds.get(0), 3, 4), f32(ds.get(1), 3), 0.5));
            }
        }));
    }

    /** After every rejection, a valid call on the same device still works. */
    @TestFactory
    Stream<DynamicTest> validAfterwards() {
        return TestDevices.host().map(d -> dynamicTest("nms on " + d, () -> {
            try (Scope s = Scope.open()) {
                Tensor boxes = Tensor.of(new float[] {0, 0, 2, 2, 0, 0, 2, 2}, new long[] {2, 4}, d);
                Assertions.assertArrayEquals(new long[] {1}, Detect.nms(boxes, Tensor.of(new float[] {1, 2}, new long[] {2}, d), 0.5).toLongArray());
            }
        }));
    }
}
