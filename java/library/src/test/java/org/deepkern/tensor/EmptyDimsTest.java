package org.deepkern.tensor;

import org.deepkern.Generator;
import org.deepkern.ops.Act;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dWeightGrads;
import org.deepkern.ops.F;
import org.deepkern.ops.LinearGrads;
import org.deepkern.ops.NormGrads;
import org.deepkern.ops.RopeLayout;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Empty dims as torch defines them, on every host backend (the memory poisoned, so an output left
 * unwritten shows as NaN): an empty input gives an empty output of the right shape, and a sum over
 * an empty dim gives zeros (a product with K = 0, a weight or bias gradient over no rows, a
 * convolution over no channels). Images must have a positive height and width, as in torch.
 */
class EmptyDimsTest {
    static Stream<Device> devices() {
        return TestDevices.host();
    }

    private static void assertFilled(Tensor t, float value, long... shape) {
        assertArrayEquals(shape, t.shape(), "shape");
        float[] v = t.toFloatArray();
        float[] expected = new float[v.length];
        Arrays.fill(expected, value);
        assertArrayEquals(expected, v, Arrays.toString(shape) + " filled with " + value);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void elementwiseAndRowOpsKeepEmptyShapes(Device d) {
        try (Scope s = Scope.open()) {
            for (long[] shape : new long[][] {{0, 5}, {3, 0}, {0}}) {
                Tensor x = Tensor.zeros(shape, DType.F32, d);
                assertArrayEquals(shape, F.gelu(x).shape());
                assertArrayEquals(shape, F.softmax(x).shape());
                assertArrayEquals(shape, F.layerNorm(x, null, null, 1e-5).shape());
                assertArrayEquals(shape, x.to(DType.BF16).shape());
            }
            assertArrayEquals(new long[] {0, 3}, F.swiglu(Tensor.zeros(new long[] {0, 6}, DType.F32, d)).shape());
            assertArrayEquals(new long[] {2, 0, 4, 8}, F.rotaryEmbedding(Tensor.zeros(new long[] {2, 0, 4, 8}, DType.F32, d),
                    RopeLayout.HALF_SPLIT, 1e4, 0).shape());
            // 2^40 rows of no dims: nothing to write, and nothing to loop over (found by the fuzz: it hung)
            Tensor rows = Tensor.zeros(new long[] {1L << 40, 0}, DType.F32, d);
            assertArrayEquals(new long[] {1L << 40, 0}, F.gmmPosteriorMean(rows, Tensor.zeros(new long[] {1, 0}, DType.F32, d),
                    Tensor.zeros(new long[] {1}, DType.F32, d), 0.7, 0.3, 0.2).shape());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void gradientsSummedOverNoRowsAreZero(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {0, 4}, DType.F32, d), bias = Tensor.full(new long[] {4}, 0.5, DType.F32, d);
            assertFilled(F.activationBackward(Act.silu(), x, bias, x).bias(), 0, 4);
            NormGrads ln = F.layerNormBackward(x, bias, x, 1e-5, true);
            assertFilled(ln.weight(), 0, 4);
            assertFilled(ln.bias(), 0, 4);
            LinearGrads lg = F.linearBackward(x, Tensor.full(new long[] {3, 4}, 1, DType.F32, d), Tensor.zeros(new long[] {0, 3}, DType.F32, d), true);
            assertFilled(lg.weight(), 0, 3, 4);
            assertFilled(lg.bias(), 0, 3);
            Conv2dWeightGrads cg = F.conv2dBackwardWeight(Tensor.zeros(new long[] {0, 2, 3, 3}, DType.F32, d),
                    Tensor.zeros(new long[] {0, 5, 2, 2}, DType.F32, d), new long[] {5, 2, 2, 2}, true, Conv2dParams.defaults());
            assertFilled(cg.gradWeight(), 0, 5, 2, 2, 2);
            assertFilled(cg.gradBias(), 0, 5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void productsOverAnEmptyReductionAreZeroOrTheBias(Device d) {
        try (Scope s = Scope.open()) {
            assertFilled(F.matmul(Tensor.zeros(new long[] {1, 3, 0}, DType.F32, d), Tensor.zeros(new long[] {2, 0, 4}, DType.F32, d)), 0, 2, 3, 4);
            assertFilled(F.matmul(Tensor.zeros(new long[] {0, 3, 2}, DType.BF16, d), Tensor.zeros(new long[] {2, 4}, DType.BF16, d)), 0, 0, 3, 4);
            Tensor bias = Tensor.full(new long[] {3}, 0.5, DType.F32, d);
            Tensor y = F.linear(Tensor.zeros(new long[] {2, 0}, DType.F32, d), Tensor.zeros(new long[] {3, 0}, DType.F32, d), bias, Act.sigmoid(), null);
            assertFilled(y, (float) (1 / (1 + Math.exp(-0.5))), 2, 3);
            // a convolution over no channels is its bias (after the activation); no images or filters: empty
            Tensor b2 = Tensor.full(new long[] {2}, -0.25, DType.F32, d);
            assertFilled(F.conv2d(Tensor.zeros(new long[] {1, 0, 3, 3}, DType.F32, d), Tensor.zeros(new long[] {2, 0, 2, 2}, DType.F32, d), b2,
                    Conv2dParams.defaults()), -0.25f, 1, 2, 2, 2);
            assertFilled(F.conv2d(Tensor.zeros(new long[] {1, 3, 3, 0}, DType.F32, d), Tensor.zeros(new long[] {2, 2, 2, 0}, DType.F32, d), b2,
                    Conv2dParams.defaults().withLayout(Conv2dParams.Layout.NHWC).withActivation(Act.relu())), 0, 1, 2, 2, 2);
            assertFilled(F.convTranspose2d(Tensor.zeros(new long[] {1, 0, 2, 2}, DType.F32, d), Tensor.zeros(new long[] {0, 2, 2, 2}, DType.F32, d), b2,
                    Conv2dParams.defaults()), -0.25f, 1, 2, 3, 3);
            assertArrayEquals(new long[] {0, 2, 2, 2}, F.conv2d(Tensor.zeros(new long[] {0, 3, 3, 3}, DType.F32, d),
                    Tensor.zeros(new long[] {2, 3, 2, 2}, DType.F32, d), null, Conv2dParams.defaults()).shape());
            assertArrayEquals(new long[] {1, 0, 2, 2}, F.conv2d(Tensor.zeros(new long[] {1, 3, 3, 3}, DType.F32, d),
                    Tensor.zeros(new long[] {0, 3, 2, 2}, DType.F32, d), null, Conv2dParams.defaults()).shape());
            assertFilled(F.conv2dBackwardData(Tensor.zeros(new long[] {1, 0, 2, 2}, DType.F32, d), Tensor.zeros(new long[] {0, 3, 2, 2}, DType.F32, d),
                    new long[] {1, 3, 3, 3}, Conv2dParams.defaults()), 0, 1, 3, 3, 3);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void imagesNeedAHeightAndAWidth(Device d) {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.zeros(new long[] {2, 2, 1, 2}, DType.F32, d);
            BadInput.assertRejects("x", "zero height or width", () -> F.conv2d(Tensor.zeros(new long[] {1, 2, 0, 3}, DType.F32, d), w,
                    null, Conv2dParams.defaults().withPadding(1)));
            BadInput.assertRejects("x", "zero height or width", () -> F.convTranspose2d(Tensor.zeros(new long[] {1, 2, 1, 0}, DType.F32, d),
                    w, null, Conv2dParams.defaults()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void attentionWithoutKeysIsZeroAndWithoutQueriesHasZeroKeyGradients(Device d) {
        try (Scope s = Scope.open()) {
            AttentionResult r = F.scaledDotProductAttention(Tensor.randn(new long[] {1, 2, 3, 32}, DType.F32, d, new Generator(1)),
                    Tensor.zeros(new long[] {1, 2, 0, 32}, DType.F32, d), Tensor.zeros(new long[] {1, 2, 0, 32}, DType.F32, d), AttentionParams.defaults());
            assertFilled(r.out(), 0, 1, 2, 3, 32);
            assertFilled(r.logsumexp(), Float.NEGATIVE_INFINITY, 1, 2, 3);
            Tensor q = Tensor.zeros(new long[] {1, 2, 0, 32}, DType.F32, d), k = Tensor.randn(new long[] {1, 2, 5, 32}, DType.F32, d, new Generator(2)),
                    v = Tensor.randn(new long[] {1, 2, 5, 32}, DType.F32, d, new Generator(3));
            AttentionGrads g = F.scaledDotProductAttentionBackward(q, k, v,
                    F.scaledDotProductAttention(q, k, v, AttentionParams.defaults()), q, AttentionParams.defaults());
            assertEquals(0, g.gradQ().numel());
            assertFilled(g.gradK(), 0, 1, 2, 5, 32);
            assertFilled(g.gradV(), 0, 1, 2, 5, 32);
        }
    }
}
