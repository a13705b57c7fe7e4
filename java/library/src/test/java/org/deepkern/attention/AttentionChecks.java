package org.deepkern.attention;

import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.attention.AttentionReference.Problem;
import org.deepkern.testing.Close;

/** Shared plumbing of the Attention* tests: inputs, running both directions, comparing. */
final class AttentionChecks {
    private AttentionChecks() {}

    /** Tolerance relative to the largest reference magnitude, by dtype. */
    static double tol(DType dtype) {
        return switch (dtype) {
            case F32 -> 1e-4;
            case F16 -> 6e-3;
            default -> 3e-2;
        };
    }

    /** Device tensors of the problem with inputs rounded to dtype, and those rounded values on the host. */
    record Inputs(Tensor q, Tensor k, Tensor v, Tensor gradOut, Tensor keyLengths, Tensor bias, float[] qs, float[] ks,
                  float[] vs, float[] gs, Problem p, AttentionParams params) {}

    /**
     * Random inputs for p on the device. biasF32 picks the bias dtype (f32, else q's). keyLengthsI64 picks
     * the key-lengths dtype. The bias values come from p.bias() rounded to the bias dtype.
     */
    static Inputs inputs(Device device, DType dtype, Problem p, long seed, boolean biasF32, boolean keyLengthsI64) {
        long[] qShape = {p.b(), p.hq(), p.lq(), p.d()}, kShape = {p.b(), p.hkv(), p.lk(), p.d()};
        Tensor q = rounded(device, dtype, normal(p.b() * p.hq() * p.lq() * p.d(), seed, 0, 1), qShape);
        Tensor k = rounded(device, dtype, normal(p.b() * p.hkv() * p.lk() * p.d(), seed + 1, 0, 1), kShape);
        Tensor v = rounded(device, dtype, normal(p.b() * p.hkv() * p.lk() * p.d(), seed + 2, 0, 1), kShape);
        Tensor g = rounded(device, dtype, normal(p.b() * p.hq() * p.lq() * p.d(), seed + 3, 0, 1), qShape);
        Tensor kl = null;
        if (p.keyLengths() != null) {
            if (keyLengthsI64) {
                kl = Tensor.of(p.keyLengths(), new long[] {p.b()}, device);
            } else {
                int[] ints = new int[p.b()];
                for (int i = 0; i < ints.length; i++) ints[i] = (int) p.keyLengths()[i];
                kl = Tensor.of(ints, new long[] {p.b()}, device);
            }
        }
        Tensor bias = null;
        Problem rp = p;
        if (p.bias() != null) {
            bias = rounded(device, biasF32 ? DType.F32 : dtype, p.bias(), p.biasShape());
            rp = new Problem(p.b(), p.hq(), p.hkv(), p.lq(), p.lk(), p.d(), p.scale(), p.causal(), p.keyLengths(),
                    bias.toFloatArray(), p.biasShape());
        }
        AttentionParams params = new AttentionParams(p.scale(), p.causal(), kl, bias);
        return new Inputs(q, k, v, g, kl, bias, q.toFloatArray(), k.toFloatArray(), v.toFloatArray(), g.toFloatArray(), rp,
                params);
    }

    static Tensor rounded(Device device, DType dtype, float[] values, long... shape) {
        try (Tensor f = Tensor.of(values, shape, device)) {
            return f.to(dtype);
        }
    }

    /** NaN-filled blocks of the outputs' sizes on top of the allocator's free lists, so unwritten elements show. */
    static void poison(Device device, DType[] dtypes, long[]... shapes) {
        Tensor[] blocks = new Tensor[shapes.length];
        for (int i = 0; i < shapes.length; i++) blocks[i] = Tensor.full(shapes[i], Double.NaN, dtypes[i], device);
        for (int i = shapes.length - 1; i >= 0; i--) blocks[i].close();
    }

    /** Forward (and backward) on the device against the double reference. */
    static void check(Device device, DType dtype, Problem p, long seed, boolean biasF32, boolean keyLengthsI64,
                      boolean backward) {
        String what = p + " " + dtype + " on " + device;
        try (Scope scope = Scope.open()) {
            Inputs in = inputs(device, dtype, p, seed, biasF32, keyLengthsI64);
            Problem rp = in.p();
            AttentionReference.Forward ref = AttentionReference.forward(rp, in.qs(), in.ks(), in.vs());
            long[] qShape = {p.b(), p.hq(), p.lq(), p.d()}, rows = {p.b(), p.hq(), p.lq()};
            poison(device, new DType[] {dtype, DType.F32}, qShape, rows);
            AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
            assertEquals(dtype, r.out().dtype());
            double t = tol(dtype);
            Close.assertClose(ref.out(), r.out().toFloatArray(), t, t * AttentionReference.maxAbs(ref.out()), what + " out");
            Close.assertClose(ref.lse(), r.logsumexp().toFloatArray(), 1e-4, 1e-4, what + " logsumexp");
            if (!backward) return;
            AttentionReference.Grads g = AttentionReference.backward(rp, in.qs(), in.ks(), in.vs(), in.gs());
            long[] kShape = {p.b(), p.hkv(), p.lk(), p.d()};
            poison(device, new DType[] {dtype, dtype, dtype}, qShape, kShape, kShape);
            AttentionGrads got = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), r, in.gradOut(), in.params());
            // the backward reads the forward's rounded output; its error reaches the gradients through delta
            double tg = dtype == DType.F32 ? t : 2 * t;
            // a floor for gradients that vanish (one key: P = 1 and dS = 0 up to rounding)
            Close.assertClose(g.q(), got.gradQ().toFloatArray(), tg, tg * Math.max(AttentionReference.maxAbs(g.q()), 1e-2), what + " gradQ");
            Close.assertClose(g.k(), got.gradK().toFloatArray(), tg, tg * Math.max(AttentionReference.maxAbs(g.k()), 1e-2), what + " gradK");
            Close.assertClose(g.v(), got.gradV().toFloatArray(), tg, tg * Math.max(AttentionReference.maxAbs(g.v()), 1e-2), what + " gradV");
        }
    }

    /** A bias of the given shape: normal values, with -inf where (flat index) % infEvery == 1 when infEvery > 0. */
    static float[] bias(long[] shape, long seed, int infEvery) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] b = normal((int) n, seed, 0, 1);
        if (infEvery > 0)
            for (int i = 0; i < b.length; i++) if (i % infEvery == 1) b[i] = Float.NEGATIVE_INFINITY;
        return b;
    }

    static Problem problem(int b, int hq, int hkv, int lq, int lk, int d, CausalMask causal) {
        return new Problem(b, hq, hkv, lq, lk, d, Double.NaN, causal, null, null, null);
    }

    static Problem withKeyLengths(Problem p, long... kl) {
        return new Problem(p.b(), p.hq(), p.hkv(), p.lq(), p.lk(), p.d(), p.scale(), p.causal(), kl, p.bias(), p.biasShape());
    }

    static Problem withBias(Problem p, long[] shape, long seed, int infEvery) {
        return new Problem(p.b(), p.hq(), p.hkv(), p.lq(), p.lk(), p.d(), p.scale(), p.causal(), p.keyLengths(),
                bias(shape, seed, infEvery), shape);
    }

    static Problem withScale(Problem p, double scale) {
        return new Problem(p.b(), p.hq(), p.hkv(), p.lq(), p.lk(), p.d(), scale, p.causal(), p.keyLengths(), p.bias(),
                p.biasShape());
    }
}
