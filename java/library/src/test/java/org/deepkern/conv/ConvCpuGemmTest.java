package org.deepkern.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.deepkern.testing.Forked;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cpu backend's blocked product at the edges of its blocking and packing: NHWC convolutions
 * without groups whose rows the product reads from x tap by tap (C not a multiple of the 4 x 4
 * transposes nor of the vector width, K blocks that cut a tap's channels, output channels past a
 * 32-column panel, more than one row block, rows not a multiple of the register tile's: f32 panels
 * broadcast from x, taps in the padding read from a zero row, the M edge's panel packed), the
 * NCHW forwards as a product per image (pointwise) or through the NHWC product, the depthwise NHWC gradients (channel chunks and a ragged last one), each
 * against ConvReference through ConvTest's checks; then every ISA copy (DEEPKERN_CPU_ISA = sse2,
 * avx2) in a JVM of its own, with a transposed matmul of three K blocks, and the same bits for 1
 * and 3 threads.
 */
class ConvCpuGemmTest {
    static List<Geom> geoms() {
        return List.of(
                new Geom(2, 18, 9, 11, 37, 3, 3, 2, 1, 1, 2, 0, 1, 1, 2, 1),    // C 18, K 37, stride, dilation
                new Geom(1, 16, 5, 5, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),     // pointwise, 25 rows
                new Geom(3, 20, 13, 7, 70, 5, 3, 1, 2, 2, 2, 1, 1, 1, 1, 1),    // red 300: K blocks of 150 cut taps
                new Geom(2, 24, 20, 20, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // 800 rows: several row blocks
                new Geom(2, 20, 7, 29, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),    // padding taps read as zeros, a packed M-edge panel
                new Geom(1, 20, 5, 25, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),    // pointwise, all rows read from x, 125
                new Geom(1, 40, 7, 40, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),    // red 360: a K block starts mid-tap
                new Geom(2, 20, 9, 9, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 20),    // depthwise, stride 2
                new Geom(1, 37, 8, 7, 37, 5, 3, 1, 2, 2, 1, 0, 2, 2, 1, 37),    // depthwise, 3 chunks, ragged
                new Geom(3, 20, 37, 41, 37, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),   // pointwise, NCHW: two column blocks
                new Geom(2, 5, 7, 9, 19, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1));     // pointwise, C 5
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Layout l : Layout.values())
            for (Geom g : geoms()) out.add(Arguments.of(l, g));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void f32(Layout layout, Geom g) {
        new ConvTest().forwardAndGradients(Device.CPU, layout, g);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void halves(Layout layout, Geom g) {
        for (DType t : new DType[] {DType.BF16, DType.F16}) new ConvTest().halfPrecision(Device.CPU, t, layout, g);
    }

    /** Every case above under another ISA copy: the child prints "ok" or dies with the failure. */
    @Test
    void everyIsaCopy() throws Exception {
        for (String isa : new String[] {"sse2", "avx2"}) {
            StringBuilder out = new StringBuilder();
            Forked.End end = Forked.run(Main.class, Map.of("DEEPKERN_CPU_ISA", isa), 300, l -> out.append(l).append('\n'),
                    "check");
            assertFalse(end.hung(), isa + ": hung\n" + out);
            assertEquals(0, end.exit(), isa + ":\n" + out);
            assertTrue(out.toString().contains("ok"), isa + ":\n" + out);
        }
    }

    /** A forward big enough for many tasks gives the same bits with 1 and 3 threads. */
    @Test
    void sameBitsForAnyThreadCount() throws Exception {
        String[] sums = new String[2];
        int[] threads = {1, 3};
        for (int i = 0; i < 2; i++) {
            StringBuilder out = new StringBuilder();
            Forked.End end = Forked.run(Main.class, Map.of("DEEPKERN_NUM_THREADS", "" + threads[i]), 300,
                    l -> out.append(l).append('\n'), "bits");
            assertEquals(0, end.exit(), out.toString());
            sums[i] = out.toString().lines().filter(l -> l.startsWith("bits ")).findFirst().orElse("none\n" + out);
        }
        assertEquals(sums[0], sums[1]);
    }

    /** op(a) @ b, f32, a stored transposed, against a double loop: ragged row and column blocks, three K blocks. */
    static void matmul(int m, int n, int k) {
        Random rnd = new Random(m + n + k);
        float[] a = new float[k * m], b = new float[k * n];
        for (float[] v : List.of(a, b))
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        try (Scope s = Scope.open()) {
            Tensor c = F.matmul(Tensor.of(a, new long[] {k, m}, Device.CPU), Tensor.of(b, new long[] {k, n}, Device.CPU), true, false);
            float[] got = c.toFloatArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double v = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        v += (double) a[p * m + i] * b[p * n + j];
                        mag += Math.abs((double) a[p * m + i] * b[p * n + j]);
                    }
                    if (!(Math.abs(got[i * n + j] - v) <= 1e-5 * mag))
                        throw new AssertionError("matmul (" + i + ", " + j + "): " + got[i * n + j] + " vs " + v);
                }
        }
    }

    /** The forked side: "check" runs every case, "bits" prints a hash of a forward's and its gradients' bits. */
    public static final class Main {
        public static void main(String[] args) {
            if (args[0].equals("check")) {
                ConvCpuGemmTest t = new ConvCpuGemmTest();
                cases().forEach(a -> {
                    t.f32((Layout) a.get()[0], (Geom) a.get()[1]);
                    t.halves((Layout) a.get()[0], (Geom) a.get()[1]);
                });
                matmul(150, 45, 600);
                System.out.println("ok");
                return;
            }
            Geom g = new Geom(2, 64, 24, 24, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
            Geom dwg = new Geom(2, 64, 24, 24, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 64);
            Geom ragged = new Geom(3, 20, 11, 29, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
            long hash = 0;
            for (Geom c : List.of(g, dwg, ragged)) {
                Random rnd = new Random(5);
                try (Scope s = Scope.open()) {
                    Tensor x = ConvTest.upload(Device.CPU, DType.F32, ConvTest.randn(rnd, c.xSize()), true, c.n(), c.c(), c.h(), c.w());
                    Tensor w = ConvTest.upload(Device.CPU, DType.F32, ConvTest.randn(rnd, c.wSize()), true, c.k(), c.cg(), c.r(), c.s());
                    Tensor gy = ConvTest.upload(Device.CPU, DType.F32, ConvTest.randn(rnd, c.ySize()), true, c.n(), c.k(), c.p(), c.q());
                    Tensor y = ConvTest.poisoned(Device.CPU, DType.F32, true, c.n(), c.k(), c.p(), c.q());
                    F.conv2d(x, w, null, null, c.params(Layout.NHWC), y);
                    Tensor dx = ConvTest.poisoned(Device.CPU, DType.F32, true, c.n(), c.c(), c.h(), c.w());
                    F.conv2dBackwardData(gy, w, c.params(Layout.NHWC), dx);
                    Tensor dw = ConvTest.poisoned(Device.CPU, DType.F32, true, c.k(), c.cg(), c.r(), c.s());
                    F.conv2dBackwardWeight(x, gy, c.params(Layout.NHWC), dw, null);
                    for (Tensor t : List.of(y, dx, dw))
                        for (float v : t.toFloatArray()) hash = hash * 31 + Float.floatToRawIntBits(v);
                }
            }
            // NCHW: the pointwise product per image and the route through the NHWC product, bias and residual fused
            Geom pointwise = new Geom(3, 20, 37, 41, 37, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
            for (Geom c : List.of(g, ragged, pointwise)) {
                Random rnd = new Random(7);
                try (Scope s = Scope.open()) {
                    Tensor x = ConvTest.upload(Device.CPU, DType.F32, ConvTest.randn(rnd, c.xSize()), false, c.n(), c.c(), c.h(), c.w());
                    Tensor w = ConvTest.upload(Device.CPU, DType.F32, ConvTest.randn(rnd, c.wSize()), false, c.k(), c.cg(), c.r(), c.s());
                    Tensor b = Tensor.of(ConvTest.f(ConvTest.randn(rnd, c.k())), new long[] {c.k()}, Device.CPU);
                    Tensor r = ConvTest.upload(Device.CPU, DType.F32, ConvTest.randn(rnd, c.ySize()), false, c.n(), c.k(), c.p(), c.q());
                    Tensor y = ConvTest.poisoned(Device.CPU, DType.F32, false, c.n(), c.k(), c.p(), c.q());
                    F.conv2d(x, w, b, r, c.params(Layout.NCHW), y);
                    for (float v : y.toFloatArray()) hash = hash * 31 + Float.floatToRawIntBits(v);
                }
            }
            System.out.println("bits " + Long.toHexString(hash));
        }
    }
}
