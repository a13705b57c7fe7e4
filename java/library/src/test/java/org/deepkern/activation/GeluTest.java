package org.deepkern.activation;

import org.deepkern.testing.GeluChecks;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GeluTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16})
                for (GeluApproximation a : GeluApproximation.values())
                    for (long n : GeluChecks.SIZES) out.add(Arguments.of(d, t, a, n));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3}")
    @MethodSource("cases")
    void matchesDoubleReference(Device device, DType dtype, GeluApproximation approximation, long n) {
        GeluChecks.check(device, dtype, approximation, n);
    }

    @Test
    void knownValues() {
        // Phi(1) = 0.841344746068543, Phi(-1) = 0.158655253931457 (standard normal tables)
        try (Tensor x = Tensor.of(new float[] {1f, -1f, 0f}, new long[0], Device.CPU); Tensor y = F.gelu(x)) {
            float[] v = y.toFloatArray();
            assertEquals(0.841344746068543, v[0], 1e-7);
            assertEquals(-0.158655253931457, v[1], 1e-7);
            assertEquals(0.0, v[2], 0.0);
        }
    }

    @Test
    void inPlace() {
        float[] data = GeluChecks.inputs(1000, 5, DType.F32);
        try (Tensor x = Tensor.of(data, new long[0], Device.CPU); Tensor expected = F.gelu(x)) {
            F.gelu(x, GeluApproximation.NONE, x);
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected.toFloatArray(), x.toFloatArray());
        }
    }
}
