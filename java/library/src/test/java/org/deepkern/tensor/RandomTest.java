package org.deepkern.tensor;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import static org.junit.jupiter.api.Assertions.*;

import java.util.stream.Stream;
import org.deepkern.testing.Philox;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class RandomTest {
    static Stream<Device> devices() {
        return TestDevices.host();
    }

    @ParameterizedTest
    @MethodSource("devices")
    void randnFollowsThePhiloxStream(Device device) {
        long seed = 0x1234_5678_9abcL;
        int n = 10_003;
        try (Tensor t = Tensor.randn(new long[] {n}, DType.F32, device, new Generator(seed))) {
            float[] z = t.toFloatArray();
            for (int i = 0; i < n; i++) {
                double expected = Philox.normal(seed, 0, i);
                // f32 log/cos/sin: a few ulps, amplified by the radius up to ~5
                assertEquals(expected, z[i], 2e-6 * Math.max(1, Math.abs(expected)), "normal " + i);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void sameSeedSameBitsOtherSeedOtherBits(Device device) {
        try (Tensor a = Tensor.randn(new long[] {999}, DType.BF16, device, new Generator(42));
             Tensor b = Tensor.randn(new long[] {999}, DType.BF16, device, new Generator(42));
             Tensor c = Tensor.randn(new long[] {999}, DType.BF16, device, new Generator(43))) {
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            assertFalse(java.util.Arrays.equals(a.toFloatArray(), c.toFloatArray()));
        }
    }

    @Test
    void backendsDrawTheSameNumbers() {
        float[] first = null;
        for (Device d : DeepKern.devices()) {
            try (Tensor t = Tensor.randn(new long[] {4099}, DType.F32, d, new Generator(7))) {
                float[] z = t.toFloatArray();
                if (first == null) first = z;
                else for (int i = 0; i < z.length; i++) assertEquals(first[i], z[i], 2e-6 * Math.max(1, Math.abs(z[i])));
            }
        }
    }

    @Test
    void moments() {
        // 2^20 draws: the sample mean has sd 1e-3 and the sample variance sd 1.4e-3; a 5 sd bound
        // fails by chance with probability below 1e-6.
        int n = 1 << 20;
        try (Tensor t = Tensor.randn(new long[] {n}, DType.F32, Device.CPU, new Generator(99))) {
            float[] z = t.toFloatArray();
            double sum = 0, sq = 0;
            for (float v : z) {
                sum += v;
                sq += (double) v * v;
            }
            double mean = sum / n, var = sq / n - mean * mean;
            assertEquals(0.0, mean, 5 * Math.sqrt(1.0 / n));
            assertEquals(1.0, var, 5 * Math.sqrt(2.0 / n));
        }
    }
}
