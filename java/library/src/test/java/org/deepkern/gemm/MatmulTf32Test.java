package org.deepkern.gemm;

import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.Close;
import org.deepkern.testing.Reference;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Tf32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * f32 matmul and linear with TF32 allowed (DeepKern.setAllowTf32): on emu (and cuda) the tensor-core
 * kernel with mma.m16n8k8.tf32 must equal the double product of the operands rounded to TF32 (at f32
 * accumulation tolerance) and must differ from the exact product (the switch really switched); on
 * cpu the switch changes nothing. Every transpose, rows aligned for cp.async (K, N multiples of 4)
 * and not, several tiles and K stages.
 */
class MatmulTf32Test {
    static final double F32_TOL = 2e-5;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] mnk = {{17, 7, 64}, {136, 72, 96}, {130, 65, 200}, {7, 257, 17}, {260, 300, 40}};
        TestDevices.host().forEach(d -> {
            for (int[] s : mnk)
                for (int tr = 0; tr < 4; tr++) out.add(Arguments.of(d, s[0], s[1], s[2], (tr & 1) != 0, (tr & 2) != 0));
        });
        return out.stream();
    }

    /** Runs body with TF32 allowed on device, restoring the default after. */
    static void withTf32(Device device, Runnable body) {
        DeepKern.setAllowTf32(device, true);
        try {
            body.run();
        } finally {
            DeepKern.setAllowTf32(device, false);
        }
    }

    /** Whether the device honours the switch (cpu computes in f32 either way). */
    static boolean rounds(Device device) {
        return device.type() != Device.Type.CPU;
    }

    /** got against op(a) @ op(b) of the TF32-rounded operands, and (where TF32 applies) away from the exact one. */
    static void checkTf32(Device device, float[] a, float[] b, int m, int n, int k, boolean ta, boolean tb, float[] got,
                          String what) {
        double[] exact = new double[m * n], mag = new double[m * n], rounded = new double[m * n], rmag = new double[m * n];
        MatmulTest.product(a, 0, b, 0, m, n, k, ta, tb, exact, mag, 0);
        MatmulTest.product(Tf32.round(a), 0, Tf32.round(b), 0, m, n, k, ta, tb, rounded, rmag, 0);
        double[] want = rounds(device) ? rounded : exact;
        Close.assertClose(want, got, F32_TOL, i -> F32_TOL * mag[i], what);
        if (!rounds(device)) return;
        double worst = 0;
        for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - exact[i]) / mag[i]);
        assertTrue(worst > 4 * F32_TOL, what + ": no element further from the exact product than f32 rounding ("
                + worst + " of the magnitude): TF32 was not used");
    }

    @ParameterizedTest(name = "{0} m={1} n={2} k={3} transA={4} transB={5}")
    @MethodSource("cases")
    void matmul(Device device, int m, int n, int k, boolean ta, boolean tb) {
        withTf32(device, () -> {
            try (Scope s = Scope.open()) {
                long[] as = ta ? new long[] {k, m} : new long[] {m, k}, bs = tb ? new long[] {n, k} : new long[] {k, n};
                float[] av = normal(m * k, m + 7L * k, 0, 1), bv = normal(k * n, n + 11L * k, 0, 1);
                Tensor c = F.matmul(Tensor.of(av, as, device), Tensor.of(bv, bs, device), ta, tb);
                checkTf32(device, av, bv, m, n, k, ta, tb, c.toFloatArray(), "tf32 matmul on " + device);
            }
        });
    }

    static Stream<Arguments> linearCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (int o : new int[] {17, 24}) out.add(Arguments.of(d, o));
        });
        return out.stream();
    }

    /** linear with bias, gelu and a residual: the epilogue on the TF32 product (24 outputs: 16-byte packs). */
    @ParameterizedTest(name = "{0} out={1}")
    @MethodSource("linearCases")
    void linearWithEpilogue(Device device, int out) {
        withTf32(device, () -> {
            try (Scope s = Scope.open()) {
                int rows = 129, in = 36;
                float[] xv = normal(rows * in, 5, 0, 1), wv = normal(out * in, 6, 0, 0.3), bv = normal(out, 7, 0, 1),
                        rv = normal(rows * out, 8, 0, 1);
                Tensor y = F.linear(Tensor.of(xv, new long[] {rows, in}, device), Tensor.of(wv, new long[] {out, in}, device),
                        Tensor.of(bv, new long[] {out}, device), Act.gelu(), Tensor.of(rv, new long[] {rows, out}, device));
                float[] xr = rounds(device) ? Tf32.round(xv) : xv, wr = rounds(device) ? Tf32.round(wv) : wv;
                double[] v = new double[rows * out], mag = new double[rows * out];
                MatmulTest.product(xr, 0, wr, 0, rows, out, in, false, true, v, mag, 0);
                double[] want = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    double z = v[i] + bv[i % out];
                    want[i] = Reference.gelu(z) + rv[i];
                }
                float[] got = y.toFloatArray();
                Close.assertClose(want, got, 1e-4, i -> 1e-4 * (mag[i] + 1), "tf32 linear on " + device);
            }
        });
    }

    @Test
    void switchIsOffByDefaultAndRoundTrips() {
        TestDevices.host().forEach(device -> {
            assertFalse(DeepKern.allowTf32(device), "TF32 is off unless asked");
            withTf32(device, () -> assertTrue(DeepKern.allowTf32(device)));
            assertFalse(DeepKern.allowTf32(device));
        });
    }

    @Test
    void nullDeviceIsRefused() {
        assertTrue(BadInput.assertRejects("device", "expected a device", () -> DeepKern.setAllowTf32(null, true))
                .getMessage().startsWith("DeepKern.setAllowTf32: "));
        assertTrue(BadInput.assertRejects("device", "expected a device", () -> DeepKern.allowTf32(null))
                .getMessage().startsWith("DeepKern.allowTf32: "));
    }

    @Test
    void halfPrecisionIgnoresTheSwitch() {
        Device emu = Device.EMU;
        withTf32(emu, () -> {
            try (Scope s = Scope.open()) {
                float[] av = normal(40 * 24, 1, 0, 1), bv = normal(24 * 16, 2, 0, 1);
                Tensor a = Tensor.of(av, new long[] {40, 24}, emu).to(DType.BF16), b = Tensor.of(bv, new long[] {24, 16}, emu).to(DType.BF16);
                float[] with = F.matmul(a, b).toFloatArray();
                DeepKern.setAllowTf32(emu, false);
                float[] without = F.matmul(a, b).toFloatArray();
                for (int i = 0; i < with.length; i++) assertEquals(without[i], with[i], 0.0, "bf16 element " + i);
            }
        });
    }
}
