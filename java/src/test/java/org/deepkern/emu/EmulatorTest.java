package org.deepkern.emu;

import static org.junit.jupiter.api.Assertions.*;
import static org.deepkern.testing.EmuSchedules.assumeEmu;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;

import java.util.SplittableRandom;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Emulator.Schedule;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The emulator through the JVM: the runtime self-test kernels against double references in every
 * schedule order, and the planted bugs caught, named, and survived.
 */
class EmulatorTest {
    private static final Device EMU = Device.EMU;
    private static final long SEED = 1234;   // of the shuffled schedule
    private Emulator.Options defaults;

    @BeforeEach
    void requireEmu() {
        assumeEmu();
        defaults = Emulator.options();
    }

    @AfterEach
    void restore() {
        if (defaults != null) Emulator.setOptions(defaults);
    }

    private static float[] randomFloats(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    private float[] run(String name, float[] a, int outLength) {
        try (Scope scope = Scope.open()) {
            Tensor out = Tensor.full(Float.NaN, DType.F32, EMU, outLength);
            Emulator.selftest(name, Tensor.of(EMU, a), null, out);
            return out.toFloatArray();
        }
    }

    @Test
    void blockAndWarpReductions() {
        int n = 5000;
        float[] a = randomFloats(n, 1);
        for (int width : new int[] {256, 32}) {
            String name = width == 256 ? "block_reduce" : "warp_reduce";
            int parts = (n + width - 1) / width;
            float[] got = sameInEveryOrder(name, SEED, () -> run(name, a, parts));
            double[] ref = new double[parts];
            for (int i = 0; i < n; i++) ref[i / width] += a[i];
            Close.assertClose(ref, got, 1e-5, 1e-5, name);
        }
    }

    @Test
    void blockScan() {
        int n = 1000;
        float[] a = randomFloats(n, 2);
        float[] got = sameInEveryOrder("block_scan", SEED, () -> run("block_scan", a, n));
        double[] ref = new double[n];
        for (int i = 0; i < n; i++) ref[i] = a[i] + (i % 256 == 0 ? 0 : ref[i - 1]);
        Close.assertClose(ref, got, 1e-5, 1e-4, "block_scan");
    }

    @Test
    void sharedHistogram() {
        int n = 20_000, bins = 300;
        SplittableRandom r = new SplittableRandom(3);
        int[] values = new int[n];
        for (int i = 0; i < n; i++) values[i] = r.nextInt(-10, bins + 10);
        int[] ref = new int[bins];
        for (int v : values) if (v >= 0 && v < bins) ref[v]++;
        float[] got = sameInEveryOrder("shared_histogram", SEED, () -> {
            try (Scope scope = Scope.open()) {
                Tensor out = Tensor.full(-1, DType.I32, EMU, bins);
                Emulator.selftest("shared_histogram", Tensor.of(EMU, values), null, out);
                return out.toFloatArray();
            }
        });
        for (int b = 0; b < bins; b++) assertEquals(ref[b], got[b], "bin " + b);
    }

    @Test
    void tensorCoreGemmThroughMmaAndLdmatrix() {
        for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
            float[] a0 = randomFloats(64 * 64, 4), b0 = randomFloats(64 * 64, 5);
            float[][] exact = new float[2][];
            float[] got = sameInEveryOrder("mma_gemm " + dtype, SEED, () -> {
                try (Scope scope = Scope.open()) {
                    Tensor a = Tensor.of(EMU, a0, 64, 64).to(dtype), b = Tensor.of(EMU, b0, 64, 64).to(dtype);
                    exact[0] = a.toFloatArray();
                    exact[1] = b.toFloatArray();
                    Tensor out = Tensor.full(Float.NaN, DType.F32, EMU, 64, 64);
                    Emulator.selftest("mma_gemm", a, b, out);
                    return out.toFloatArray();
                }
            });
            double[] ref = new double[64 * 64];
            for (int i = 0; i < 64; i++)
                for (int j = 0; j < 64; j++) {
                    double s = 0;
                    for (int k = 0; k < 64; k++) s += (double) exact[0][i * 64 + k] * exact[1][k * 64 + j];
                    ref[i * 64 + j] = s;
                }
            // f32 accumulation of 64 exact products of 16-bit inputs
            Close.assertClose(ref, got, 1e-5, 1e-4, "mma_gemm " + dtype);
        }
    }

    @Test
    void cpAsyncDoubleBuffering() {
        for (int n : new int[] {4096, 1001}) {
            float[] a = randomFloats(n, 6);
            float[] got = sameInEveryOrder("cp_async_pipeline n=" + n, SEED, () -> run("cp_async_pipeline", a, n));
            double[] ref = new double[n];
            for (int i = 0; i < n; i++) ref[i] = 2.0 * a[i] + 1.0;
            Close.assertClose(ref, got, 1e-6, 1e-6, "cp_async_pipeline n=" + n);
        }
    }

    @Test
    void missingBarrierShowsAsAScheduleDependentResult() {
        float[] a = randomFloats(512, 7);
        Emulator.setOptions(defaults.withSchedule(Schedule.FORWARD, 0));
        float[] forward = run("bug_missing_barrier", a, a.length);
        Emulator.setOptions(defaults.withSchedule(Schedule.REVERSE, 0));
        float[] reverse = run("bug_missing_barrier", a, a.length);
        assertFalse(java.util.Arrays.equals(forward, reverse), "a race must change the result with the order");
    }

    @Test
    void divergentBarrierAndBadShuffleMaskFailTheLaunchAndTheJvmLivesOn() {
        for (String bug : new String[] {"bug_divergent_barrier", "bug_bad_shuffle_mask"}) {
            for (Schedule s : Schedule.values()) {
                Emulator.setOptions(defaults.withSchedule(s, 9));
                DeepKernException e = assertThrows(DeepKernException.class, () -> run(bug, randomFloats(256, 8), 256));
                assertEquals(Status.KERNEL, e.status(), e.getMessage());
                String m = e.getMessage();
                assertTrue(m.contains("kernel '") && m.contains("block (") && m.contains("thread ("), m);
            }
        }
        float[] a = randomFloats(300, 9);
        float[] sums = run("block_reduce", a, 2);
        double first = 0;
        for (int i = 0; i < 256; i++) first += a[i];
        assertEquals(first, sums[0], 1e-4);
    }

    @Test
    void selftestsAreNotForTheCpuAndCheckTheirArguments() {
        try (Scope scope = Scope.open()) {
            Tensor a = Tensor.zeros(DType.F32, Device.CPU, 8), out = Tensor.zeros(DType.F32, Device.CPU, 1);
            assertEquals(Status.NOT_SUPPORTED,
                    assertThrows(DeepKernException.class, () -> Emulator.selftest("block_reduce", a, null, out)).status());
            Tensor ea = Tensor.zeros(DType.F32, EMU, 8), eo = Tensor.zeros(DType.F32, EMU, 5);
            DeepKernException bad = assertThrows(DeepKernException.class, () -> Emulator.selftest("nope", ea, null, eo));
            assertTrue(bad.getMessage().contains("'name'"), bad.getMessage());
            DeepKernException shape = assertThrows(DeepKernException.class, () -> Emulator.selftest("block_reduce", ea, null, eo));
            assertTrue(shape.getMessage().contains("'out'"), shape.getMessage());
        }
    }

    @Test
    void optionsRoundTrip() {
        Emulator.Options o = new Emulator.Options(Schedule.RANDOM, 77, 48 * 1024, 1);
        Emulator.setOptions(o);
        assertEquals(o, Emulator.options());
    }
}
