package org.deepkern.activation;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.ActivationGrads;
import org.deepkern.ops.F;
import org.deepkern.ops.GatedGrads;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The forms writing into given tensors run the kernels of the allocating forms: the same bits,
 * into NaN-filled outputs (so an element left unwritten shows), and a wrong output is named.
 */
class ActivationOutFormsTest {
    private static Tensor nan(Device dev, long... shape) {
        return Tensor.full(shape, Float.NaN, DType.F32, dev);
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void outFormsWriteWhatTheAllocatingFormsReturn(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.randn(new long[] {5, 8}, DType.F32, dev, new Generator(1)), b = Tensor.randn(new long[] {8}, DType.F32, dev, new Generator(2));
            Tensor g = Tensor.randn(new long[] {5, 8}, DType.F32, dev, new Generator(3)), up = Tensor.randn(new long[] {5, 8}, DType.F32, dev, new Generator(4));
            Act gelu = Act.gelu(), silu = Act.silu();

            ActivationGrads want = F.activationBackward(gelu, x, b, g);
            Tensor gradIn = nan(dev, 5, 8), gradBias = nan(dev, 8);
            assertSame(gradIn, F.activationBackward(gelu, x, b, g, gradIn, gradBias));
            assertArrayEquals(want.input().toFloatArray(), gradIn.toFloatArray());
            assertArrayEquals(want.bias().toFloatArray(), gradBias.toFloatArray());
            Tensor gradNoBias = nan(dev, 5, 8);
            F.activationBackward(gelu, x, null, g, gradNoBias, null);
            assertArrayEquals(F.activationBackward(gelu, x, g).toFloatArray(), gradNoBias.toFloatArray());

            Tensor out = nan(dev, 5, 8);
            assertSame(out, F.gated(silu, x, up, out));
            assertArrayEquals(F.gated(silu, x, up).toFloatArray(), out.toFloatArray());
            GatedGrads gg = F.gatedBackward(silu, x, up, g);
            Tensor gradGate = nan(dev, 5, 8), gradUp = nan(dev, 5, 8);
            F.gatedBackward(silu, x, up, g, gradGate, gradUp);
            assertArrayEquals(gg.gate().toFloatArray(), gradGate.toFloatArray());
            assertArrayEquals(gg.up().toFloatArray(), gradUp.toFloatArray());

            Tensor split = Tensor.randn(new long[] {5, 16}, DType.F32, dev, new Generator(5)), half = nan(dev, 5, 8), gradX = nan(dev, 5, 16);
            assertSame(half, F.gatedSplit(silu, split, half));
            assertArrayEquals(F.gated(silu, split).toFloatArray(), half.toFloatArray());
            assertSame(gradX, F.gatedSplitBackward(silu, split, g, gradX));
            assertArrayEquals(F.gatedBackward(silu, split, g).toFloatArray(), gradX.toFloatArray());
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void aWrongOutputIsNamed(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.randn(new long[] {5, 8}, DType.F32, dev, new Generator(1)), b = Tensor.randn(new long[] {8}, DType.F32, dev, new Generator(2));
            Tensor g = Tensor.randn(new long[] {5, 8}, DType.F32, dev, new Generator(3)), wrong = nan(dev, 5, 7);
            assertRejects("gradIn", "shape", () -> F.activationBackward(Act.gelu(), x, b, g, wrong, nan(dev, 8)));
            assertRejects("gradBias", "shape", () -> F.activationBackward(Act.gelu(), x, b, g, nan(dev, 5, 8), wrong));
            assertRejects("out", "shape", () -> F.gated(Act.silu(), x, x, wrong));
            assertRejects("gradUp", "shape", () -> F.gatedBackward(Act.silu(), x, x, g, nan(dev, 5, 8), wrong));
            assertRejects("out", "shape", () -> F.gatedSplit(Act.silu(), x, wrong));
            assertRejects("gradX", "shape", () -> F.gatedSplitBackward(Act.silu(), x, nan(dev, 5, 4), wrong));
        }
    }
}
