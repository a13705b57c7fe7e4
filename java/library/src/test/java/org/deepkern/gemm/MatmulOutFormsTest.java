package org.deepkern.gemm;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** matmul and linear into given outputs: the allocating forms' bits; an overlapping out is refused. */
class MatmulOutFormsTest {
    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void outFormsWriteWhatTheAllocatingFormsReturn(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor a = Tensor.randn(new long[] {2, 9, 17}, DType.F32, dev, new Generator(1)), b = Tensor.randn(new long[] {11, 17}, DType.F32, dev, new Generator(2));
            Tensor bias = Tensor.randn(new long[] {11}, DType.F32, dev, new Generator(3)), res = Tensor.randn(new long[] {2, 9, 11}, DType.F32, dev, new Generator(4));
            Tensor out = Tensor.full(new long[] {2, 9, 11}, Float.NaN, DType.F32, dev);
            assertSame(out, F.matmul(a, b, false, true, out));
            assertArrayEquals(F.matmul(a, b, false, true).toFloatArray(), out.toFloatArray());
            Tensor lin = Tensor.full(new long[] {2, 9, 11}, Float.NaN, DType.F32, dev);
            assertSame(lin, F.linear(a, b, bias, Act.gelu(), res, lin));
            assertArrayEquals(F.linear(a, b, bias, Act.gelu(), res).toFloatArray(), lin.toFloatArray());
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void aWrongOutputIsNamed(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor a = Tensor.randn(new long[] {9, 9}, DType.F32, dev, new Generator(1));
            assertRejects("out", "shape", () -> F.matmul(a, a, false, false, Tensor.zeros(new long[] {9, 8}, DType.F32, dev)));
            assertRejects("out", "overlap", () -> F.matmul(a, a, false, false, a));
            assertRejects("out", "shape", () -> F.linear(a, a, null, null, null, Tensor.zeros(new long[] {9}, DType.F32, dev)));
        }
    }
}
