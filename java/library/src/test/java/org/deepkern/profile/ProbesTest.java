package org.deepkern.profile;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The probes a roofline is measured with compute what they say, and the stopwatch measures time. */
class ProbesTest {
    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void fmaComputesItsChains(Device dev) {
        int n = 3000, iterations = 37;
        try (Tensor out = Tensor.full(new long[] {n}, Float.NaN, DType.F32, dev)) {
            Probes.fma(out, iterations);
            float[] got = out.toFloatArray();
            for (int i = 0; i < n; i++) {
                // element i: 8 chains from x + c, x = (i mod 1024) / 1000, each iterating a -> 0.9999 a + 0.0001
                double x = (i & 1023) * 1e-3, sum = 0;
                for (int c = 0; c < 8; c++) {
                    double a = x + c;
                    for (int k = 0; k < iterations; k++) a = a * 0.9999 + 0.0001;
                    sum += a;
                }
                assertEquals(sum, got[i], 1e-5 * sum, "element " + i);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void copyBytesCopiesEveryByte(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor src = Tensor.randn(new long[] {1001}, DType.F32, dev, new Generator(5)), dst = Tensor.full(new long[] {1001}, Float.NaN, DType.F32, dev);
            Probes.copyBytes(dst, src);
            assertArrayEquals(src.toFloatArray(), dst.toFloatArray());
            Tensor asInts = Tensor.zeros(new long[] {1001}, DType.I32, dev);
            Probes.copyBytes(asInts, src);  // bytes, not values: the f32 bits reinterpreted
            int[] bits = asInts.toIntArray();
            float[] values = src.toFloatArray();
            for (int i = 0; i < values.length; i++) assertEquals(Float.floatToRawIntBits(values[i]), bits[i]);
            assertRejects("dst", "bytes", () -> Probes.copyBytes(Tensor.zeros(new long[] {1000}, DType.F32, dev), src));
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void theTimerMeasuresTheTimeBetweenItsMarks(Device dev) throws InterruptedException {
        try (DeviceTimer timer = new DeviceTimer(dev)) {
            timer.start();
            Thread.sleep(30);
            double seconds = timer.stop();
            assertTrue(seconds >= 0.025 && seconds < 5, "measured " + seconds + " s for a 30 ms sleep");
        }
        Probes.emptyCall(dev);
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void badArgumentsAreNamed(Device dev) {
        try (Scope scope = Scope.open()) {
            assertRejects("iterations", ">= 1", () -> Probes.fma(Tensor.zeros(new long[] {4}, DType.F32, dev), 0));
            assertRejects("out", "f32", () -> Probes.fma(Tensor.zeros(new long[] {4}, DType.I32, dev), 1));
            assertRejects("device", "null", () -> Probes.emptyCall(null));
            assertRejects("device", "null", () -> new DeviceTimer(null));
            // a memcpy of the bytes the elements span: a view would be written or read past its memory
            Tensor one = Tensor.zeros(new long[] {1}, DType.F32, dev), four = Tensor.zeros(new long[] {4}, DType.F32, dev);
            assertRejects("dst", "contiguous", () -> Probes.copyBytes(one.expand(4), four));
            assertRejects("src", "contiguous", () -> Probes.copyBytes(four, Tensor.zeros(new long[] {8}, DType.F32, dev).narrow(0, 0, 8).view(2, 4).transpose(0, 1)));
        }
    }
}
