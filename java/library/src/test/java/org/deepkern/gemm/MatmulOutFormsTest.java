package org.deepkern.gemm;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

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
            Tensor a = Tensor.randn(dev, DType.F32, 1, 2, 9, 17), b = Tensor.randn(dev, DType.F32, 2, 11, 17);
            Tensor bias = Tensor.randn(dev, DType.F32, 3, 11), res = Tensor.randn(dev, DType.F32, 4, 2, 9, 11);
            Tensor out = Tensor.full(Float.NaN, DType.F32, dev, 2, 9, 11);
            assertSame(out, F.matmul(a, b, false, true, out));
            assertArrayEquals(F.matmul(a, b, false, true).toFloatArray(), out.toFloatArray());
            Tensor lin = Tensor.full(Float.NaN, DType.F32, dev, 2, 9, 11);
            assertSame(lin, F.linear(a, b, bias, Act.gelu(), res, lin));
            assertArrayEquals(F.linear(a, b, bias, Act.gelu(), res).toFloatArray(), lin.toFloatArray());
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void aWrongOutputIsNamed(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor a = Tensor.randn(dev, DType.F32, 1, 9, 9);
            assertRejects("out", "shape", () -> F.matmul(a, a, false, false, Tensor.zeros(DType.F32, dev, 9, 8)));
            assertRejects("out", "overlap", () -> F.matmul(a, a, false, false, a));
            assertRejects("out", "shape", () -> F.linear(a, a, null, null, null, Tensor.zeros(DType.F32, dev, 9)));
        }
    }
}
