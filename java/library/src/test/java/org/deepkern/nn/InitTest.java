package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * torch's default initializations: each module's bounds, a large layer's moments and histogram
 * against U(-b, b), and reproducibility (same seed and state, same bits on every device and after
 * the dtype's rounding; another seed or a later draw, other values).
 */
class InitTest {
    /** Every |v| <= bound (and, with enough draws, some near it); rounding to a 16-bit dtype may pass it by its half-ulp. */
    private static void assertUniformBounds(Tensor t, double bound, String what) {
        float[] v = t.toFloatArray();
        double max = 0;
        for (float x : v) max = Math.max(max, Math.abs(x));
        double slack = t.dtype() == DType.F32 ? 0 : bound * 0x1p-8;
        assertTrue(max <= bound + slack, what + ": max |v| " + max + " over the bound " + bound);
        assertTrue(max >= 0.95 * bound, what + ": max |v| " + max + " far under the bound " + bound);
    }

    private static void assertConstant(Tensor t, double value, String what) {
        for (float x : t.toFloatArray()) assertEquals(value, x, 0.0, what);
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void eachModuleDrawsWithinTorchsBounds(Device d) {
        Generator g = new Generator(21);
        try (Linear lin = new Linear(300, 200, true, DType.BF16, d, g);
             Conv2d conv = new Conv2d(16, 32, 3, 3, Conv2dParams.defaults().withGroups(4), true, DType.F32, d, g);
             Conv2d nhwc = new Conv2d(8, 16, 3, 5, Conv2dParams.defaults().withLayout(Conv2dParams.Layout.NHWC), true,
                     DType.F32, d, g);
             ConvTranspose2d deconv = new ConvTranspose2d(16, 8, 4, 4, Conv2dParams.defaults(), true, DType.F32, d, g);
             MultiHeadAttention mha = new MultiHeadAttention(64, 4, 2, true, null, false, DType.F32, d, g);
             LayerNorm ln = new LayerNorm(48, 1e-5, DType.BF16, d); RMSNorm rms = new RMSNorm(48, 1e-6, DType.F32, d)) {
            assertUniformBounds(lin.weight(), 1 / Math.sqrt(300), "Linear weight");
            assertUniformBounds(lin.bias(), 1 / Math.sqrt(300), "Linear bias");
            assertUniformBounds(conv.weight(), 1 / Math.sqrt(16 / 4 * 9), "grouped Conv2d weight");  // fan_in = C/groups * R * S
            assertUniformBounds(conv.bias(), 1 / Math.sqrt(16 / 4 * 9), "grouped Conv2d bias");
            assertArrayEquals(new long[] {16, 3, 5, 8}, nhwc.weight().shape());
            assertUniformBounds(nhwc.weight(), 1 / Math.sqrt(8 * 15), "NHWC Conv2d weight");
            assertUniformBounds(deconv.weight(), 1 / Math.sqrt(8 * 16), "ConvTranspose2d weight");  // torch: dim 1 * R * S
            assertUniformBounds(mha.qkv().weight(), Math.sqrt(6.0 / (64 + 128)), "qkv weight (xavier)");
            assertConstant(mha.qkv().bias(), 0, "qkv bias");
            assertUniformBounds(mha.proj().weight(), 1 / Math.sqrt(64), "proj weight");
            assertConstant(mha.proj().bias(), 0, "proj bias");
            assertConstant(ln.weight(), 1, "LayerNorm weight");
            assertConstant(ln.bias(), 0, "LayerNorm bias");
            assertConstant(rms.weight(), 1, "RMSNorm weight");
        }
    }

    /** 1000 x 1000 draws: mean 0, variance b^2/3, and each tenth of [-b, b] holds a tenth of them. */
    @Test
    void aLargeLayerIsUniform() {
        try (Linear lin = new Linear(1000, 1000, false, DType.F32, Device.CPU, new Generator(5))) {
            float[] w = lin.weight().toFloatArray();
            double b = 1 / Math.sqrt(1000), mean = 0, sq = 0;
            int[] bins = new int[10];
            for (float x : w) {
                mean += x / (double) w.length;
                sq += (double) x * x / w.length;
                bins[Math.min(9, (int) ((x + b) / (2 * b) * 10))]++;
            }
            double sd = b / Math.sqrt(3);
            assertEquals(0, mean, 6 * sd / Math.sqrt(w.length), "mean");  // six standard errors
            assertEquals(b * b / 3, sq - mean * mean, 0.01 * b * b / 3, "variance");
            for (int i = 0; i < 10; i++) assertEquals(0.1, bins[i] / (double) w.length, 0.002, "tenth " + i + " of " + Arrays.toString(bins));
        }
    }

    @Test
    void aSeedGivesTheSameBitsEverywhereAndOthersDiffer() {
        Generator g = new Generator(9);
        try (Linear a = new Linear(40, 30, true, DType.F32, Device.CPU, new Generator(9));
             Linear next = new Linear(40, 30, true, DType.F32, Device.CPU, g.seed(9));
             Linear later = new Linear(40, 30, true, DType.F32, Device.CPU, g);
             Linear other = new Linear(40, 30, true, DType.F32, Device.CPU, new Generator(10));
             Linear bf16 = new Linear(40, 30, true, DType.BF16, Device.CPU, new Generator(9))) {
            assertArrayEquals(a.weight().toFloatArray(), next.weight().toFloatArray());
            assertArrayEquals(a.bias().toFloatArray(), next.bias().toFloatArray());
            assertFalse(Arrays.equals(a.weight().toFloatArray(), later.weight().toFloatArray()), "the generator did not advance");
            assertFalse(Arrays.equals(a.weight().toFloatArray(), other.weight().toFloatArray()), "another seed, the same values");
            try (Tensor rounded = a.weight().to(DType.BF16)) {
                assertArrayEquals(rounded.toFloatArray(), bf16.weight().toFloatArray(), "bf16 is the f32 draw rounded");
            }
            TestDevices.host().forEach(d -> {
                try (Linear there = new Linear(40, 30, true, DType.F32, d, new Generator(9))) {
                    assertArrayEquals(a.weight().toFloatArray(), there.weight().toFloatArray(), "on " + d);
                }
            });
        }
    }
}
