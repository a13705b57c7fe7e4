package org.deepkern.conv;

import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Invalid convolution calls, one table per host device: each raises DeepKernException
 * (INVALID_ARGUMENT) naming the argument and saying what is wrong; a valid call afterwards works.
 */
class ConvBadInputTest {
    private static final class T {
        final Tensor x, xh, x3, w, w5, wBig, b, b5, y, yBad, w7, xi, wNhwc, xNhwc, closed;

        T(Device d) {
            x = Tensor.zeros(new long[] {1, 4, 7, 7}, DType.F32, d);      // NCHW, C = 4
            xh = Tensor.zeros(new long[] {1, 4, 7, 7}, DType.BF16, d);
            x3 = Tensor.zeros(new long[] {4, 7, 7}, DType.F32, d);
            w = Tensor.zeros(new long[] {6, 4, 3, 3}, DType.F32, d);      // K = 6
            w5 = Tensor.zeros(new long[] {6, 5, 3, 3}, DType.F32, d);     // wrong C
            wBig = Tensor.zeros(new long[] {6, 4, 9, 9}, DType.F32, d);   // larger than the input
            b = Tensor.zeros(new long[] {6}, DType.F32, d);
            b5 = Tensor.zeros(new long[] {5}, DType.F32, d);
            y = Tensor.zeros(new long[] {1, 6, 5, 5}, DType.F32, d);
            yBad = Tensor.zeros(new long[] {1, 6, 7, 7}, DType.F32, d);
            w7 = Tensor.zeros(new long[] {7, 2, 3, 3}, DType.F32, d);     // 7 filters: groups 2 does not divide
            xi = Tensor.zeros(new long[] {1, 4, 7, 7}, DType.I32, d);
            xNhwc = Tensor.zeros(new long[] {1, 7, 7, 4}, DType.F32, d);
            wNhwc = Tensor.zeros(new long[] {6, 4, 3, 3}, DType.F32, d);  // NCHW weight given for NHWC: C/g = 3 != 4
            closed = Tensor.zeros(new long[] {1, 4, 7, 7}, DType.F32, d);
            closed.close();
        }
    }

    private interface Call {
        void run(T t) throws Throwable;
    }

    private record Bad(String what, String argument, String says, Call call) {}

    private static final Conv2dParams P = Conv2dParams.defaults();

    private static List<Bad> table() {
        List<Bad> t = new ArrayList<>();
        t.add(new Bad("channel mismatch", "w", "channel mismatch", a -> F.conv2d(a.x, a.w5, null, P)));
        t.add(new Bad("NHWC weight in NCHW order", "w", "channel mismatch",
                a -> F.conv2d(a.xNhwc, a.wNhwc, null, P.withLayout(Conv2dParams.Layout.NHWC))));
        t.add(new Bad("groups do not divide C", "params.groups", "must divide", a -> F.conv2d(a.x, a.w, null, P.withGroups(3))));
        t.add(new Bad("groups do not divide K", "w", "groups", a -> F.conv2d(a.x, a.w7, null, P.withGroups(2))));
        t.add(new Bad("kernel larger than the padded input", "w", "larger than the padded input",
                a -> F.conv2d(a.x, a.wBig, null, P)));
        t.add(new Bad("stride 0", "params.strideH", "must be >= 1", a -> F.conv2d(a.x, a.w, null, P.withStride(0, 1))));
        t.add(new Bad("negative stride", "params.strideW", "must be >= 1", a -> F.conv2d(a.x, a.w, null, P.withStride(1, -2))));
        t.add(new Bad("dilation 0", "params.dilationH", "must be >= 1", a -> F.conv2d(a.x, a.w, null, P.withDilation(0, 1))));
        t.add(new Bad("negative padding", "params.padLeft", "must be >= 0", a -> F.conv2d(a.x, a.w, null, P.withPadding(0, 0, -1, 0))));
        t.add(new Bad("groups 0", "params.groups", "must be >= 1", a -> F.conv2d(a.x, a.w, null, P.withGroups(0))));
        t.add(new Bad("output padding on a conv", "params.outputPaddingH", "transposed convolution only",
                a -> F.conv2d(a.x, a.w, null, P.withOutputPadding(1, 0))));
        t.add(new Bad("output of the wrong shape", "out", "expected shape", a -> F.conv2d(a.x, a.w, null, null, P, a.yBad)));
        t.add(new Bad("bias of the wrong length", "bias", "expected shape [6]", a -> F.conv2d(a.x, a.w, a.b5, P)));
        t.add(new Bad("dtype mismatch x / w", "w", "dtype", a -> F.conv2d(a.xh, a.w, null, P)));
        t.add(new Bad("integer input", "x", "float", a -> F.conv2d(a.xi, a.w, null, P)));
        t.add(new Bad("3-D input", "x", "4-D", a -> F.conv2d(a.x3, a.w, null, P)));
        t.add(new Bad("residual of the wrong shape", "residual", "shape", a -> F.conv2d(a.x, a.w, null, a.yBad, P)));
        t.add(new Bad("closed input", "x", "closed", a -> F.conv2d(a.closed, a.w, null, P)));
        t.add(new Bad("null params", "params", "null", a -> F.conv2d(a.x, a.w, null, null)));
        t.add(new Bad("bad activation", "minVal", "must not exceed", a -> F.conv2d(a.x, a.w, null, P.withActivation(Act.hardtanh(1, -1)))));
        t.add(new Bad("out overlaps x", "out", "overlaps", a -> F.conv2d(a.x, Tensor.zeros(new long[] {4, 4, 1, 1}, DType.F32, a.x.device()),
                null, null, P, a.x)));
        // gradients
        t.add(new Bad("gradOut of the wrong shape (data)", "gradOut", "expected shape",
                a -> F.conv2dBackwardData(a.yBad, a.w, P, Tensor.zeros(new long[] {1, 4, 7, 7}, DType.F32, a.x.device()))));
        t.add(new Bad("activation on a gradient", "params.activation", "must be none",
                a -> F.conv2dBackwardData(a.y, a.w, P.withActivation(Act.relu()), Tensor.zeros(new long[] {1, 4, 7, 7}, DType.F32, a.x.device()))));
        t.add(new Bad("gradW channel mismatch", "gradW", "channel mismatch",
                a -> F.conv2dBackwardWeight(a.x, a.y, P, a.w5, null)));
        t.add(new Bad("gradBias of the wrong length", "gradBias", "expected shape [6]",
                a -> F.conv2dBackwardWeight(a.x, a.y, P, Tensor.zeros(new long[] {6, 4, 3, 3}, DType.F32, a.x.device()), a.b5)));
        // transposed
        t.add(new Bad("transposed: w's first dim is not Cin", "w", "channel mismatch",
                a -> F.convTranspose2d(a.x, a.w, null, P)));
        t.add(new Bad("transposed: output padding too large", "params.outputPaddingH", "must be smaller than 'params.strideH'",
                a -> F.convTranspose2d(a.x, Tensor.zeros(new long[] {4, 2, 3, 3}, DType.F32, a.x.device()), null,
                        P.withStride(2).withOutputPadding(2, 0))));
        t.add(new Bad("transposed: groups do not divide Cin", "params.groups", "must divide",
                a -> F.convTranspose2d(a.x, Tensor.zeros(new long[] {4, 2, 3, 3}, DType.F32, a.x.device()), null, P.withGroups(3))));
        // nulls, extreme parameters, sizes past 64 bits: named before anything is allocated
        t.add(new Bad("null x", "x", "null", a -> F.conv2d(null, a.w, null, P)));
        t.add(new Bad("null w", "w", "null", a -> F.conv2d(a.x, null, null, P)));
        t.add(new Bad("null inputShape", "inputShape", "null", a -> F.conv2dBackwardData(a.y, a.w, null, P)));
        t.add(new Bad("null weightShape", "weightShape", "null", a -> F.conv2dBackwardWeight(a.x, a.y, null, true, P)));
        t.add(new Bad("stride -1 with a huge padding and dilation", "params.strideH", "must be >= 1",
                a -> F.conv2d(a.x, a.w, null, P.withStride(-1).withPadding(1 << 20).withDilation(2))));
        t.add(new Bad("padding 2^30: the output overflows", "params", "overflows 64-bit byte counts",
                a -> F.conv2d(a.x, a.w, null, P.withPadding(1 << 30))));
        t.add(new Bad("dilation 2^31 - 1: the kernel spans more than the input", "w", "larger than the padded input",
                a -> F.conv2d(a.x, a.w, null, P.withDilation(Integer.MAX_VALUE))));
        t.add(new Bad("transposed: stride 2^31 - 1 on both axes", "params", "overflows 64-bit byte counts",
                a -> F.convTranspose2d(a.x, Tensor.zeros(new long[] {4, 2, 3, 3}, DType.F32, a.x.device()), null, P.withStride(Integer.MAX_VALUE))));
        t.add(new Bad("transposed: output padding 2^31 - 1", "params.outputPaddingH", "must be smaller",
                a -> F.convTranspose2d(a.x, Tensor.zeros(new long[] {4, 2, 3, 3}, DType.F32, a.x.device()), null,
                        P.withOutputPadding(Integer.MAX_VALUE, 0))));
        t.add(new Bad("zero-width image", "x", "zero height or width",
                a -> F.conv2d(Tensor.zeros(new long[] {1, 4, 7, 0}, DType.F32, a.x.device()), a.w, null, P.withPadding(2))));
        t.add(new Bad("transposed: zero-width image", "x", "zero height or width",
                a -> F.convTranspose2d(Tensor.zeros(new long[] {1, 2, 1, 0}, DType.F32, a.x.device()), Tensor.zeros(new long[] {2, 2, 1, 2}, DType.F32, a.x.device()),
                        null, P)));
        t.add(new Bad("inputShape that does not give gradOut", "inputShape", "gives [1, 6, 6, 6]",
                a -> F.conv2dBackwardData(a.y, a.w, new long[] {1, 4, 8, 8}, P)));
        t.add(new Bad("inputShape of 2^62 elements", "inputShape", "overflows",
                a -> F.conv2dBackwardData(a.y, a.w, new long[] {1L << 40, 4, 1L << 20, 7}, P)));
        t.add(new Bad("weightShape that does not give gradOut", "weightShape", "gives [1, 6, 3, 3]",
                a -> F.conv2dBackwardWeight(a.x, a.y, new long[] {6, 4, 5, 5}, false, P)));
        return t;
    }

    @TestFactory
    Stream<DynamicTest> eachRaisesNamingTheArgument() {
        return TestDevices.host().flatMap(d -> Stream.concat(
                table().stream().map(b -> dynamicTest(d + ": " + b.what(), () -> {
                    try (Scope s = Scope.open()) {
                        T t = new T(d);
                        BadInput.assertRejects(b.what(), b.argument(), b.says(), () -> b.call().run(t));
                    }
                })),
                Stream.of(dynamicTest(d + ": a valid call afterwards works", () -> {
                    try (Scope s = Scope.open()) {
                        // 1x1 conv of [1, 2, 1, 2] with w = [[1, 2]] + bias 1: out = x0 + 2 x1 + 1
                        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, new long[] {1, 2, 1, 2}, d);
                        Tensor w = Tensor.of(new float[] {1, 2}, new long[] {1, 2, 1, 1}, d);
                        Tensor b = Tensor.of(new float[] {1}, new long[] {1}, d);
                        assertArrayEquals(new float[] {8, 11}, F.conv2d(x, w, b, P).toFloatArray());
                    }
                }))));
    }
}
