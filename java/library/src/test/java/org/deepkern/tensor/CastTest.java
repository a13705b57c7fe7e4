package org.deepkern.tensor;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * f32 -> f16/bf16 -> f32 against references built from the formats' definitions: every finite
 * 16-bit value is decoded, and the correctly rounded result is the nearest of them, ties to the
 * even encoding; beyond the largest finite value (plus half an ulp) it is infinity.
 */
class CastTest {
    static Stream<Device> devices() {
        return TestDevices.host();
    }

    @ParameterizedTest
    @MethodSource("devices")
    void f16RoundsToNearestEven(Device device) {
        check(device, DType.F16, CastTest::decodeHalf);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void bf16RoundsToNearestEven(Device device) {
        check(device, DType.BF16, bits -> Float.intBitsToFloat(bits << 16));
    }

    /**
     * Every dtype pair on whole numbers (exact in each), over lengths around the kernels' 8-element
     * step and views starting 0-3 elements into their buffer: the 16-byte packed path, its tail and
     * the unaligned element path.
     */
    @ParameterizedTest
    @MethodSource("devices")
    void everyPairOnPacksTailsAndUnalignedViews(Device device) {
        DType[] types = {DType.F32, DType.F16, DType.BF16, DType.I32, DType.I64};
        for (DType from : types) {
            for (DType to : types) {
                for (int len : new int[] {1, 7, 8, 9, 8 * 37 + 5}) {
                    for (int off = 0; off < 4; off++) {
                        float[] x = new float[off + len];
                        for (int i = 0; i < x.length; i++) x[i] = (i * 7) % 201 - 100;
                        try (Tensor base = Tensor.of(x, new long[0], device); Tensor src = base.to(from);
                             Tensor view = src.narrow(0, off, len); Tensor y = view.to(to); Tensor back = y.to(DType.F32)) {
                            float[] got = back.toFloatArray();
                            for (int i = 0; i < len; i++)
                                assertEquals(x[off + i], got[i], 0.0, from + " -> " + to + ", length " + len + ", offset " + off
                                        + ", element " + i);
                        }
                    }
                }
            }
        }
    }

    interface Decoder {
        float decode(int bits);
    }

    static float decodeHalf(int h) {
        int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
        double v = exp == 0 ? man * Math.pow(2, -24) : (1 + man / 1024.0) * Math.pow(2, exp - 15);
        if (exp == 0x1f) v = man == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        return (float) (sign == 1 ? -v : v);
    }

    private static void check(Device device, DType dtype, Decoder decoder) {
        // the non-negative finite values, ascending, with their encodings
        int count = 0;
        float[] values = new float[1 << 15];
        int[] codes = new int[1 << 15];
        for (int b = 0; b < (1 << 15); b++) {
            float v = decoder.decode(b);
            if (Float.isFinite(v)) {
                values[count] = v;
                codes[count++] = b;
            }
        }
        float[] finite = Arrays.copyOf(values, count);
        float max = finite[count - 1], ulpAtMax = max - finite[count - 2];

        SplittableRandom rng = new SplittableRandom(7);
        float[] x = new float[200_000];
        for (int i = 0; i < x.length; i++) {
            int k = rng.nextInt(count - 1);
            float lo = finite[k], hi = finite[k + 1];
            x[i] = switch (i % 4) {
                case 0 -> (lo + hi) / 2;  // ties (exact in f32 for these formats)
                case 1 -> lo + (hi - lo) * rng.nextFloat();
                case 2 -> Float.intBitsToFloat(rng.nextInt());  // anything, NaN and inf included
                default -> lo;
            };
            if (rng.nextBoolean()) x[i] = -x[i];
        }
        float[] got;
        try (Tensor t = Tensor.of(x, new long[0], device); Tensor c = t.to(dtype)) {
            got = c.toFloatArray();
            // copyFrom converts the same, straight into a compact tensor or through a strided column
            try (Tensor dst = Tensor.empty(new long[] {x.length}, dtype, device);
                 Tensor pairs = Tensor.zeros(new long[] {x.length, 2}, dtype, device);
                 Tensor col = pairs.narrow(1, 1, 1); Tensor src = t.view(x.length, 1)) {
                assertArrayEquals(got, dst.copyFrom(t).toFloatArray(), "copyFrom into a compact " + dtype + " tensor");
                assertArrayEquals(got, col.copyFrom(src).toFloatArray(), "copyFrom into a " + dtype + " column");
            }
        }
        for (int i = 0; i < x.length; i++) {
            if (Float.isNaN(x[i])) {
                assertEquals(Float.NaN, got[i], dtype + " of NaN");
            } else {
                float expected = nearest(Math.abs(x[i]), finite, codes, max, ulpAtMax);
                if (x[i] < 0 || (x[i] == 0 && 1 / x[i] < 0)) expected = -expected;
                assertEquals(expected, got[i], 0.0, dtype + " of " + x[i] + " (bits " + Integer.toHexString(Float.floatToIntBits(x[i])) + ")");
                assertEquals(Float.floatToIntBits(expected) >>> 31, Float.floatToIntBits(got[i]) >>> 31, "sign of " + x[i]);
            }
        }
    }

    private static float nearest(float a, float[] finite, int[] codes, float max, float ulpAtMax) {
        if (Float.isInfinite(a) || a >= (double) max + ulpAtMax / 2.0) return Float.POSITIVE_INFINITY;
        if (a > max) return max;
        int k = Arrays.binarySearch(finite, a);
        if (k >= 0) return finite[k];
        int hi = -k - 1, lo = hi - 1;
        double dl = a - (double) finite[lo], dh = finite[hi] - (double) a;
        if (dl < dh) return finite[lo];
        if (dh < dl) return finite[hi];
        return (codes[lo] & 1) == 0 ? finite[lo] : finite[hi];
    }
}
