package org.deepkern.pool;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.deepkern.ops.Pool2dParams;
import org.deepkern.ops.PoolResult;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Invalid pooling calls, one table per host device: each names the Java call and the argument. */
class PoolBadInputTest {
    private static final long[] IMAGE = {1, 2, 6, 6};
    private static final Pool2dParams K2 = Pool2dParams.of(2);

    private static Tensor x(Device d) {
        return Tensor.zeros(IMAGE, DType.F32, d);
    }

    private static List<BadInput.Case> table() {
        List<BadInput.Case> t = new ArrayList<>();
        t.add(new BadInput.Case("null x", "x", "expected a tensor", d -> F.maxPool2d(null, K2)));
        t.add(new BadInput.Case("null params", "params", "pooling parameters", d -> F.maxPool2d(x(d), null)));
        t.add(new BadInput.Case("3-D x", "x", "expected a 4-D tensor", d -> F.avgPool2d(Tensor.zeros(new long[] {2, 6, 6}, DType.F32, d), K2)));
        t.add(new BadInput.Case("integer x", "x", "i32", d -> F.maxPool2d(Tensor.zeros(IMAGE, DType.I32, d), K2)));
        t.add(new BadInput.Case("zero height", "x", "only the batch dim may be 0",
                d -> F.maxPool2d(Tensor.zeros(new long[] {1, 2, 0, 6}, DType.F32, d), K2)));
        t.add(new BadInput.Case("kernel 0", "params.kernelH", "must be >= 1", d -> F.maxPool2d(x(d), Pool2dParams.of(0, 2))));
        t.add(new BadInput.Case("stride 0", "params.strideW", "must be >= 1", d -> F.maxPool2d(x(d), K2.withStride(1, 0))));
        t.add(new BadInput.Case("dilation 0", "params.dilationH", "must be >= 1", d -> F.maxPool2d(x(d), K2.withDilation(0))));
        t.add(new BadInput.Case("padding over half the kernel", "params.padH", "[0, kernel / 2]",
                d -> F.maxPool2d(x(d), Pool2dParams.of(3).withPadding(2, 1))));
        t.add(new BadInput.Case("negative padding", "params.padW", "[0, kernel / 2]", d -> F.avgPool2d(x(d), K2.withPadding(0, -1))));
        t.add(new BadInput.Case("dilated average", "params.dilationH", "must be 1 for average pooling",
                d -> F.avgPool2d(x(d), K2.withDilation(2))));
        t.add(new BadInput.Case("window larger than the image", "params", "does not fit", d -> F.maxPool2d(x(d), Pool2dParams.of(7))));
        t.add(new BadInput.Case("dilated window larger than the image", "params", "does not fit",
                d -> F.maxPool2d(x(d), Pool2dParams.of(3).withDilation(3))));
        t.add(new BadInput.Case("adaptive negative size", "outputH", "must be >= 0", d -> F.adaptiveAvgPool2d(x(d), -1, 2)));
        t.add(new BadInput.Case("adaptive null layout", "layout", "NCHW or NHWC", d -> F.adaptiveAvgPool2d(x(d), 2, 2, null)));
        t.add(new BadInput.Case("NHWC image too small for the window", "params", "does not fit",
                d -> F.maxPool2d(Tensor.zeros(new long[] {1, 2, 6, 6}, DType.F32, d), Pool2dParams.of(3).withLayout(Layout.NHWC))));
        t.add(new BadInput.Case("backward: null inputShape", "inputShape", "expected a shape",
                d -> F.avgPool2dBackward(Tensor.zeros(new long[] {1, 2, 3, 3}, DType.F32, d), null, K2)));
        t.add(new BadInput.Case("backward: 3-D inputShape", "inputShape", "4-D",
                d -> F.avgPool2dBackward(Tensor.zeros(new long[] {1, 2, 3, 3}, DType.F32, d), new long[] {2, 6, 6}, K2)));
        t.add(new BadInput.Case("backward: gradOut of the wrong shape", "gradOut", "expected the forward's output shape [1, 2, 3, 3]",
                d -> F.avgPool2dBackward(Tensor.zeros(new long[] {1, 2, 4, 3}, DType.F32, d), IMAGE, K2)));
        t.add(new BadInput.Case("backward: no indices for max", "indices", "expected a tensor",
                d -> F.maxPool2dBackward(Tensor.zeros(new long[] {1, 2, 3, 3}, DType.F32, d), null, IMAGE, K2)));
        t.add(new BadInput.Case("backward: f32 indices", "indices", "i64", d -> F.maxPool2dBackward(
                Tensor.zeros(new long[] {1, 2, 3, 3}, DType.F32, d), Tensor.zeros(new long[] {1, 2, 3, 3}, DType.F32, d), IMAGE, K2)));
        t.add(new BadInput.Case("backward: indices of the wrong shape", "indices", "one per output element", d -> F.maxPool2dBackward(
                Tensor.zeros(new long[] {1, 2, 3, 3}, DType.F32, d), Tensor.zeros(new long[] {1, 2, 3}, DType.I64, d), IMAGE, K2)));
        t.add(new BadInput.Case("adaptive backward: 3-D gradOut", "gradOut", "expected the forward's output shape", d ->
                F.adaptiveAvgPool2dBackward(Tensor.zeros(new long[] {2, 3, 3}, DType.F32, d), IMAGE, Layout.NCHW)));
        return t;
    }

    @TestFactory
    Stream<DynamicTest> rejected() {
        return BadInput.onHostDevices(table());
    }

    /** After every rejection, a valid call on the same device still works. */
    @TestFactory
    Stream<DynamicTest> validAfterwards() {
        return TestDevices.host().map(d -> dynamicTest("max pool on " + d, () -> {
            try (Scope s = Scope.open()) {
                PoolResult r = F.maxPool2dWithIndices(x(d), K2);
                org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {1, 2, 3, 3}, r.output().shape());
            }
        }));
    }
}
