package org.deepkern.norm;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** softmax, log_softmax, layer_norm and rms_norm into given outputs: the allocating forms' bits. */
class NormOutFormsTest {
    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void outFormsWriteWhatTheAllocatingFormsReturn(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.randn(new long[] {7, 33}, DType.F32, dev, new Generator(1)), w = Tensor.randn(new long[] {33}, DType.F32, dev, new Generator(2));
            Tensor b = Tensor.randn(new long[] {33}, DType.F32, dev, new Generator(3));
            Tensor[] outs = new Tensor[4];
            for (int i = 0; i < outs.length; i++) outs[i] = Tensor.full(new long[] {7, 33}, Float.NaN, DType.F32, dev);
            assertSame(outs[0], F.softmax(x, outs[0]));
            assertSame(outs[1], F.logSoftmax(x, outs[1]));
            assertSame(outs[2], F.layerNorm(x, w, b, 1e-5, outs[2]));
            assertSame(outs[3], F.rmsNorm(x, w, 1e-5, outs[3]));
            assertArrayEquals(F.softmax(x).toFloatArray(), outs[0].toFloatArray());
            assertArrayEquals(F.logSoftmax(x).toFloatArray(), outs[1].toFloatArray());
            assertArrayEquals(F.layerNorm(x, w, b, 1e-5).toFloatArray(), outs[2].toFloatArray());
            assertArrayEquals(F.rmsNorm(x, w, 1e-5).toFloatArray(), outs[3].toFloatArray());
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void aWrongOutputIsNamed(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.randn(new long[] {7, 33}, DType.F32, dev, new Generator(1)), wrong = Tensor.zeros(new long[] {7, 32}, DType.F32, dev);
            assertRejects("out", "shape", () -> F.softmax(x, wrong));
            assertRejects("out", "shape", () -> F.logSoftmax(x, wrong));
            assertRejects("out", "shape", () -> F.layerNorm(x, null, null, 1e-5, wrong));
            assertRejects("eps", "> 0", () -> F.rmsNorm(x, null, 0, x));
        }
    }
}
