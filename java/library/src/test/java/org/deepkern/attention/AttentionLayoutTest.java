package org.deepkern.attention;

import static org.deepkern.attention.AttentionChecks.problem;
import static org.deepkern.attention.AttentionChecks.tol;
import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.attention.AttentionReference.Problem;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import org.deepkern.testing.Close;
import org.deepkern.testing.RowChecks;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Attention beyond the kernels' own form, against the double reference: head dims the kernels do not
 * have (padded), q, k, v as strided views of one fused QKV projection, the output written into a
 * view, and torch's [..., L, D] inputs of 2, 3 and 5 dims.
 */
class AttentionLayoutTest {
    static Stream<Arguments> headDims() {
        List<Arguments> out = new ArrayList<>();
        long seed = 500;
        for (int d : new int[] {1, 8, 16, 40, 72, 100, 136, 200, 248})
            for (DType t : new DType[] {DType.F32, DType.BF16})
                out.add(Arguments.of(Device.CPU, t, problem(2, 4, 2, 19, 23, d, CausalMask.BOTTOM_RIGHT), seed++));
        if (DeepKern.backend(Device.Type.EMU).available())
            for (int d : new int[] {8, 40, 136})
                for (DType t : new DType[] {DType.F32, DType.F16})
                    out.add(Arguments.of(Device.EMU, t, problem(1, 2, 1, 9, 11, d, CausalMask.TOP_LEFT), seed++));
        return out.stream();
    }

    /** Any head dim up to 256: forward and backward as the reference, the scale 1/sqrt of the real D. */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("headDims")
    void anyHeadDimMatchesTheReference(Device device, DType dtype, Problem p, long seed) {
        AttentionChecks.check(device, dtype, p, seed, true, false, true);
    }

    static Stream<Arguments> devices() {
        return RowChecks.devices();
    }

    /**
     * A fused QKV projection's output [B, L, Hq + 2 Hkv, D] split into heads as views, attended
     * without copies, the output written into [B, L, Hq, D] through a permuted view.
     */
    @ParameterizedTest
    @MethodSource("devices")
    void fusedQkvViewsInAndOut(Device device) {
        int b = 2, l = 13, hq = 4, hkv = 2, d = 32;
        for (DType dtype : new DType[] {DType.F32, DType.BF16})
            try (Scope s = Scope.open()) {
                Tensor qkv = AttentionChecks.rounded(device, dtype, normal(b * l * (hq + 2 * hkv) * d, 7, 0, 1),
                        b, l, hq + 2 * hkv, d);
                Tensor q = qkv.narrow(2, 0, hq).permute(0, 2, 1, 3);
                Tensor k = qkv.narrow(2, hq, hkv).permute(0, 2, 1, 3);
                Tensor v = qkv.narrow(2, hq + hkv, hkv).permute(0, 2, 1, 3);
                assertFalse(q.isContiguous());
                Problem p = problem(b, hq, hkv, l, l, d, CausalMask.TOP_LEFT);
                AttentionReference.Forward ref = AttentionReference.forward(p, q.toFloatArray(), k.toFloatArray(),
                        v.toFloatArray());
                AttentionParams params = AttentionParams.defaults().withCausal(CausalMask.TOP_LEFT);
                double t = tol(dtype);
                String what = p + " " + dtype + " on " + device;
                AttentionResult r = F.scaledDotProductAttention(q, k, v, params);
                Close.assertClose(ref.out(), r.out().toFloatArray(), t, t * AttentionReference.maxAbs(ref.out()), what + " out");

                Tensor merged = Tensor.full(new long[] {b, l, hq, d}, Double.NaN, dtype, device);
                Tensor into = merged.permute(0, 2, 1, 3);
                long before = DeepKern.memoryStats(device).allocCount();
                assertSame(into, F.scaledDotProductAttention(q, k, v, params, into));
                // read and written in place: the only allocation is the logsumexp
                assertEquals(1, DeepKern.memoryStats(device).allocCount() - before, "allocations of the view call");
                Close.assertClose(ref.out(), into.toFloatArray(), t, t * AttentionReference.maxAbs(ref.out()), what + " out view");

                AttentionReference.Grads g = AttentionReference.backward(p, q.toFloatArray(), k.toFloatArray(),
                        v.toFloatArray(), into.toFloatArray());
                AttentionGrads got = F.scaledDotProductAttentionBackward(q, k, v, r, into, params);
                double tg = 2 * t;
                Close.assertClose(g.q(), got.gradQ().toFloatArray(), tg, tg * Math.max(AttentionReference.maxAbs(g.q()), 1e-2), what + " gradQ");
                Close.assertClose(g.k(), got.gradK().toFloatArray(), tg, tg * Math.max(AttentionReference.maxAbs(g.k()), 1e-2), what + " gradK");
                Close.assertClose(g.v(), got.gradV().toFloatArray(), tg, tg * Math.max(AttentionReference.maxAbs(g.v()), 1e-2), what + " gradV");
            }
    }

    /** torch's [..., L, D]: the leading dims are independent problems; results keep the caller's shape. */
    @ParameterizedTest
    @MethodSource("devices")
    void leadingDimsOfAnyRank(Device device) {
        int l = 7, s = 9, d = 32;
        long[][] leads = {{}, {3}, {2, 1, 3}};
        for (long[] lead : leads)
            try (Scope scope = Scope.open()) {
                int n = 1;
                for (long x : lead) n *= (int) x;
                long[] qShape = concat(lead, l, d), kShape = concat(lead, s, d);
                Tensor q = Tensor.of(normal(n * l * d, 11, 0, 1), qShape);
                Tensor k = Tensor.of(normal(n * s * d, 12, 0, 1), kShape);
                Tensor v = Tensor.of(normal(n * s * d, 13, 0, 1), kShape);
                Tensor qd = q.to(device), kd = k.to(device), vd = v.to(device);
                Problem p = problem(1, n, n, l, s, d, CausalMask.NONE);
                AttentionReference.Forward ref = AttentionReference.forward(p, q.toFloatArray(), k.toFloatArray(),
                        v.toFloatArray());
                AttentionResult r = F.scaledDotProductAttention(qd, kd, vd, AttentionParams.defaults());
                assertArrayEquals(qShape, r.out().shape());
                assertArrayEquals(concat(lead, l), r.logsumexp().shape());
                Close.assertClose(ref.out(), r.out().toFloatArray(), 1e-4, 1e-4, "lead " + java.util.Arrays.toString(lead));
                Close.assertClose(ref.lse(), r.logsumexp().toFloatArray(), 1e-4, 1e-4, "lse");
                AttentionGrads g = F.scaledDotProductAttentionBackward(qd, kd, vd, r, r.out(), AttentionParams.defaults());
                assertArrayEquals(qShape, g.gradQ().shape());
                assertArrayEquals(kShape, g.gradK().shape());
                AttentionReference.Grads rg = AttentionReference.backward(p, q.toFloatArray(), k.toFloatArray(),
                        v.toFloatArray(), r.out().toFloatArray());
                Close.assertClose(rg.q(), g.gradQ().toFloatArray(), 1e-4, 1e-4, "gradQ");
                Close.assertClose(rg.v(), g.gradV().toFloatArray(), 1e-4, 1e-4, "gradV");
            }
    }

    /** A 3-dim out that is a strided view gets the result copied in; an expanded bias is read at stride 0, not copied. */
    @ParameterizedTest
    @MethodSource("devices")
    void stridedOutAndExpandedBias(Device device) {
        int n = 2, l = 5, d = 32;
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.of(normal(n * l * d, 21, 0, 1), new long[] {n, l, d}).to(device);
            Tensor k = Tensor.of(normal(n * l * d, 22, 0, 1), new long[] {n, l, d}).to(device);
            Tensor v = Tensor.of(normal(n * l * d, 23, 0, 1), new long[] {n, l, d}).to(device);
            float[] want = F.scaledDotProductAttention(q, k, v).toFloatArray();
            Tensor buffer = Tensor.zeros(new long[] {l, n, d}, DType.F32, device);
            Tensor out = buffer.transpose(0, 1);  // [n, l, d], not contiguous
            F.scaledDotProductAttention(q, k, v, AttentionParams.defaults(), out);
            Close.assertClose(toDoubles(want), out.toFloatArray(), 0, 0, "a strided 3-dim out");

            Tensor q4 = q.unsqueeze(1), k4 = k.unsqueeze(1), v4 = v.unsqueeze(1);  // [n, 1, l, d]
            float[] rowBias = normal(l, 24, 0, 1);
            Tensor bias = Tensor.of(rowBias, new long[] {1, 1, 1, l}).to(device).expand(n, 1, l, l);
            Problem p = new Problem(n, 1, 1, l, l, d, Double.NaN, CausalMask.NONE, null, bias.toFloatArray(),
                    new long[] {n, 1, l, l});
            AttentionReference.Forward ref = AttentionReference.forward(p, q.toFloatArray(), k.toFloatArray(), v.toFloatArray());
            long before = DeepKern.memoryStats(device).allocCount();
            AttentionResult r = F.scaledDotProductAttention(q4, k4, v4, AttentionParams.defaults().withBias(bias));
            assertEquals(2, DeepKern.memoryStats(device).allocCount() - before, "out and logsumexp only");
            Close.assertClose(ref.out(), r.out().toFloatArray(), 1e-4, 1e-4, "an expanded bias");
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** What the padding and the [..., L, D] forms cannot take, named in the caller's words. */
    @ParameterizedTest
    @MethodSource("devices")
    void unsupportedFormsAreRefused(Device device) {
        try (Scope s = Scope.open()) {
            Tensor big = Tensor.zeros(new long[] {1, 1, 4, 264}, DType.F32, device);
            DeepKernException e = assertThrows(DeepKernException.class, () -> F.scaledDotProductAttention(big, big, big));
            assertTrue(e.getMessage().startsWith("F.scaledDotProductAttention: argument 'q': expected [..., L, D] with 1 <= D <= 256"),
                    e.getMessage());
            Tensor three = Tensor.zeros(new long[] {2, 4, 32}, DType.F32, device);
            Tensor lengths = Tensor.of(new int[] {4, 4}, new long[] {2}, device);
            e = assertThrows(DeepKernException.class, () -> F.scaledDotProductAttention(three, three, three,
                    AttentionParams.defaults().withKeyLengths(lengths)));
            assertTrue(e.getMessage().startsWith("F.scaledDotProductAttention: argument 'params.keyLengths'"), e.getMessage());
            Tensor four = Tensor.zeros(new long[] {1, 2, 4, 32}, DType.F32, device);
            Tensor wrong = Tensor.zeros(new long[] {1, 2, 4, 16}, DType.F32, device);
            e = assertThrows(DeepKernException.class, () -> F.scaledDotProductAttention(four, four, four,
                    AttentionParams.defaults(), wrong));
            assertTrue(e.getMessage().startsWith("F.scaledDotProductAttention: argument 'out': expected the shape of 'q'"),
                    e.getMessage());
            // an output whose rows collide (an expanded view) cannot be written
            Tensor row = Tensor.zeros(new long[] {1, 2, 1, 32}, DType.F32, device);
            e = assertThrows(DeepKernException.class, () -> F.scaledDotProductAttention(four, four, four,
                    AttentionParams.defaults(), row.expand(1, 2, 4, 32)));
            assertTrue(e.getMessage().contains("argument 'out'") && e.getMessage().contains("distinct"), e.getMessage());
        }
    }

    private static long[] concat(long[] lead, long... tail) {
        long[] out = java.util.Arrays.copyOf(lead, lead.length + tail.length);
        System.arraycopy(tail, 0, out, lead.length, tail.length);
        return out;
    }
}
