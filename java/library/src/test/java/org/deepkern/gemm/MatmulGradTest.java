package org.deepkern.gemm;

import org.deepkern.ops.Act;
import org.deepkern.testing.ActivationCase;
import org.deepkern.ops.F;
import org.deepkern.ops.LinearGrads;
import org.deepkern.ops.MatmulGrads;
import org.deepkern.testing.RowChecks;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * torch.matmul's shape rules in matmul and matmulBackward - broadcast batch dims (the gradient of a
 * broadcast operand summed over them), 1-D operands - against a double reference that walks every
 * output element and adds its contributions to both operands' gradients, and against central
 * differences of the forward.
 */
class MatmulGradTest {
    /** Operand shapes as stored (transposed ones with the last two dims swapped by the test). */
    static final long[][][] SHAPES = {
            {{2, 1, 5, 9}, {3, 9, 4}},             // both broadcast, in different dims
            {{5, 9}, {2, 3, 9, 4}},                // a shared by six batches
            {{2, 3, 7, 17}, {17, 13}},             // b shared: one product over all rows of a
            {{2, 1, 3, 1, 4, 5}, {2, 1, 3, 5, 7}}, // two separate broadcast runs in each operand
            {{1, 1, 1, 2}, {1, 2, 1}},             // all ones: nothing to sum
            {{9}, {9, 4}},                         // vector @ matrix
            {{3, 5, 9}, {9}},                      // batched matrix @ vector
            {{9}, {9}},                            // dot product: a 0-dim result
            {{9}, {2, 9, 4}},                      // vector @ batched matrix: summed over the batch
            {{130}, {130, 7}},
    };

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (int c = 0; c < SHAPES.length; c++)
                    for (int tr = 0; tr < 4; tr++) out.add(Arguments.of(d, t, c, (tr & 1) != 0, (tr & 2) != 0));
        });
        return out.stream();
    }

    /** The stored shape of an operand whose logical shape is s, transposed in its last two dims. */
    static long[] stored(long[] s, boolean trans) {
        long[] o = s.clone();
        if (trans && s.length > 1) {
            o[s.length - 1] = s[s.length - 2];
            o[s.length - 2] = s[s.length - 1];
        }
        return o;
    }

    static int numel(long[] s) {
        long n = 1;
        for (long v : s) n *= v;
        return (int) n;
    }

    /** Forward value and both gradients (zero without g) in double, by torch.matmul's definition. */
    record Ref(long[] outShape, double[] out, double[] outMag, double[] ga, double[] gaMag, double[] gb, double[] gbMag) {}

    static Ref reference(float[] a, long[] aLogical, boolean ta, float[] b, long[] bLogical, boolean tb, float[] g) {
        boolean va = aLogical.length == 1, vb = bLogical.length == 1;
        long[] as = va ? new long[] {1, aLogical[0]} : aLogical, bs = vb ? new long[] {bLogical[0], 1} : bLogical;
        boolean sta = ta && !va, stb = tb && !vb;
        int r = Math.max(as.length, bs.length), q = r - 2;
        int m = (int) as[as.length - 2], k = (int) as[as.length - 1], n = (int) bs[bs.length - 1];
        long[] batch = new long[q];
        for (int i = 0; i < q; i++) {
            int ia = i - (r - as.length), ib = i - (r - bs.length);
            batch[i] = Math.max(ia >= 0 ? as[ia] : 1, ib >= 0 ? bs[ib] : 1);
        }
        List<Long> os = new ArrayList<>();
        for (long v : batch) os.add(v);
        if (!va) os.add((long) m);
        if (!vb) os.add((long) n);
        long[] outShape = os.stream().mapToLong(Long::longValue).toArray();
        int batches = numel(batch);
        double[] out = new double[batches * m * n], outMag = new double[out.length];
        double[] ga = new double[a.length], gaMag = new double[a.length], gb = new double[b.length], gbMag = new double[b.length];
        for (int z = 0; z < batches; z++) {
            int aOff = 0, bOff = 0, aStride = m * k, bStride = k * n, rest = z;
            for (int i = q - 1; i >= 0; i--) {
                int idx = (int) (rest % batch[i]);
                rest /= (int) batch[i];
                int ia = i - (r - as.length), ib = i - (r - bs.length);
                if (ia >= 0) {
                    if (as[ia] != 1) aOff += idx * aStride;
                    aStride *= (int) as[ia];
                }
                if (ib >= 0) {
                    if (bs[ib] != 1) bOff += idx * bStride;
                    bStride *= (int) bs[ib];
                }
            }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    int o = (z * m + i) * n + j;
                    double s = 0, sm = 0, go = g == null ? 0 : g[o];
                    for (int p = 0; p < k; p++) {
                        int ai = aOff + (sta ? p * m + i : i * k + p), bi = bOff + (stb ? j * k + p : p * n + j);
                        s += (double) a[ai] * b[bi];
                        sm += Math.abs((double) a[ai] * b[bi]);
                        ga[ai] += go * b[bi];
                        gaMag[ai] += Math.abs(go * b[bi]);
                        gb[bi] += a[ai] * go;
                        gbMag[bi] += Math.abs(a[ai] * go);
                    }
                    out[o] = s;
                    outMag[o] = sm;
                }
        }
        return new Ref(outShape, out, outMag, ga, gaMag, gb, gbMag);
    }

    @ParameterizedTest(name = "{0} {1} case {2} transA={3} transB={4}")
    @MethodSource("cases")
    void valueAndGradients(Device device, DType dtype, int c, boolean ta, boolean tb) {
        long[] al = SHAPES[c][0], bl = SHAPES[c][1];
        long[] as = stored(al, ta), bs = stored(bl, tb);
        try (Scope s = Scope.open()) {
            Tensor a = tensor(device, dtype, normal(numel(as), 10 + c, 0, 1), as);
            Tensor b = tensor(device, dtype, normal(numel(bs), 20 + c, 0, 1), bs);
            float[] av = a.toFloatArray(), bv = b.toFloatArray();
            long[] os = outShapeOf(al, bl);
            // the helper makes [1] of an empty shape: the 0-dim gradient of a dot product is a view
            Tensor g = tensor(device, dtype, normal(numel(os), 30 + c, 0, 1), numel(os)).reshape(os);
            Ref ref = reference(av, al, ta, bv, bl, tb, g.toFloatArray());
            String what = dtype + " on " + device + " " + java.util.Arrays.toString(as) + (ta ? "^T" : "") + " @ "
                    + java.util.Arrays.toString(bs) + (tb ? "^T" : "");
            double t = RowChecks.tol(dtype);
            Tensor y = F.matmul(a, b, ta, tb);
            assertArrayEquals(ref.outShape(), y.shape(), "shape of " + what);
            Close.assertClose(ref.out(), y.toFloatArray(), t, i -> t * ref.outMag()[i] + 1e-30, "matmul " + what);
            MatmulGrads grads = F.matmulBackward(a, b, g, ta, tb);
            assertArrayEquals(as, grads.a().shape(), "grad_a shape " + what);
            assertArrayEquals(bs, grads.b().shape(), "grad_b shape " + what);
            // a broadcast operand's gradient is rounded once per batch before the sum (as in torch)
            double gt = dtype == DType.F32 ? t : 2 * t;
            Close.assertClose(ref.ga(), grads.a().toFloatArray(), gt, i -> gt * ref.gaMag()[i] + 1e-30, "grad_a " + what);
            Close.assertClose(ref.gb(), grads.b().toFloatArray(), gt, i -> gt * ref.gbMag()[i] + 1e-30, "grad_b " + what);
        }
    }

    static long[] outShapeOf(long[] al, long[] bl) {
        return reference(new float[numel(al)], al, false, new float[numel(bl)], bl, false, null).outShape();
    }

    static Stream<Arguments> devices() {
        return RowChecks.devices();
    }

    /** The gradients are the derivative of the forward: central differences of sum(matmul(a, b) * r). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void finiteDifferences(Device device) {
        long[][][] shapes = {{{2, 1, 3, 4}, {3, 4, 2}}, {{4}, {2, 4, 3}}, {{2, 3, 4}, {4}}};
        for (long[][] sh : shapes)
            for (int tr = 0; tr < 4; tr++) {
                boolean ta = (tr & 1) != 0, tb = (tr & 2) != 0;
                long[] as = stored(sh[0], ta), bs = stored(sh[1], tb);
                float[] av = normal(numel(as), 41, 0, 1), bv = normal(numel(bs), 42, 0, 1);
                long[] os = outShapeOf(sh[0], sh[1]);
                float[] r = normal(numel(os), 43, 0, 1);
                String what = java.util.Arrays.toString(as) + " @ " + java.util.Arrays.toString(bs) + " trans " + ta + tb
                        + " on " + device;
                try (Scope s = Scope.open()) {
                    Tensor a = Tensor.of(av, as, device), b = Tensor.of(bv, bs, device);
                    Tensor g = Tensor.of(r, new long[] {r.length}, device).reshape(os);
                    MatmulGrads grads = F.matmulBackward(a, b, g, ta, tb);
                    RowChecks.assertFiniteDifferences(device, av, as, r, t -> F.matmul(t, b, ta, tb),
                            grads.a().toFloatArray(), "grad_a " + what);
                    RowChecks.assertFiniteDifferences(device, bv, bs, r, t -> F.matmul(a, t, ta, tb),
                            grads.b().toFloatArray(), "grad_b " + what);
                }
            }
    }

    static Stream<Arguments> linearCases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (String act : new String[] {"silu", "gelu_tanh", "tanh", "relu", "softplus(2.0,10.0)"})
                    for (boolean bias : new boolean[] {true, false}) out.add(Arguments.of(d, t, act, bias));
        });
        return out.stream();
    }

    /**
     * linearBackward through a fused activation, against double loops: pre = x W^T + b, gradPre =
     * gradOut act'(pre), grad_x = gradPre W, grad_W = gradPre^T x, grad_b = sum of gradPre over rows.
     * The tolerance also covers act'' times the recomputed pre-activation's rounding.
     */
    @ParameterizedTest(name = "{0} {1} {2} bias={3}")
    @MethodSource("linearCases")
    void linearWithActivation(Device device, DType dtype, String actName, boolean withBias) {
        ActivationCase act = ActivationCase.named(actName);
        int rows = 3 * 7, in = 17, out = 13;
        try (Scope s = Scope.open()) {
            Tensor x = tensor(device, dtype, normal(rows * in, 71, 0, 1), 3, 7, in);
            Tensor w = tensor(device, dtype, normal(out * in, 72, 0, 0.3), out, in);
            Tensor b = withBias ? tensor(device, dtype, normal(out, 73, 0, 1), out) : null;
            Tensor g = tensor(device, dtype, normal(rows * out, 74, 0, 1), 3, 7, out);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), gs = g.toFloatArray();
            float[] bs = withBias ? b.toFloatArray() : new float[out];
            double[] gpre = new double[rows * out], dmag = new double[rows * out];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < out; j++) {
                    double pre = bs[j], mag = Math.abs(bs[j]);
                    for (int p = 0; p < in; p++) {
                        pre += (double) xs[r * in + p] * ws[j * in + p];
                        mag += Math.abs((double) xs[r * in + p] * ws[j * in + p]);
                    }
                    double d = act.df().applyAsDouble(pre);
                    gpre[r * out + j] = gs[r * out + j] * d;
                    dmag[r * out + j] = Math.abs(gs[r * out + j]) * (Math.abs(d) + mag);
                }
            double[] gx = new double[rows * in], gxm = new double[gx.length], gw = new double[out * in],
                    gwm = new double[gw.length], gb = new double[out], gbm = new double[out];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < out; j++) {
                    double v = gpre[r * out + j], m = dmag[r * out + j];
                    gb[j] += v;
                    gbm[j] += m;
                    for (int p = 0; p < in; p++) {
                        gx[r * in + p] += v * ws[j * in + p];
                        gxm[r * in + p] += m * Math.abs(ws[j * in + p]);
                        gw[j * in + p] += v * xs[r * in + p];
                        gwm[j * in + p] += m * Math.abs(xs[r * in + p]);
                    }
                }
            LinearGrads grads = F.linearBackward(x, w, b, act.act(), g);
            String what = "linear + " + act + (withBias ? " + bias " : " ") + dtype + " on " + device;
            double t = RowChecks.tol(dtype);
            Close.assertClose(gx, grads.input().toFloatArray(), t, i -> t * gxm[i] + 1e-30, "grad_x " + what);
            Close.assertClose(gw, grads.weight().toFloatArray(), t, i -> t * gwm[i] + 1e-30, "grad_weight " + what);
            if (withBias) Close.assertClose(gb, grads.bias().toFloatArray(), t, i -> t * gbm[i] + 1e-30, "grad_bias " + what);
            else org.junit.jupiter.api.Assertions.assertNull(grads.bias(), "no bias, no bias gradient");
        }
    }

    /** linearBackward with an activation and a residual is the derivative of the fused forward. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void linearFiniteDifferences(Device device) {
        int rows = 5, in = 6, out = 4;
        float[] xv = normal(rows * in, 81, 0, 1), wv = normal(out * in, 82, 0, 0.5), bv = normal(out, 83, 0, 1);
        float[] rv = normal(rows * out, 84, 0, 1), gv = normal(rows * out, 85, 0, 1);
        for (String name : new String[] {"silu", "gelu", "sigmoid"}) {
            Act act = ActivationCase.named(name).act();
            try (Scope s = Scope.open()) {
                Tensor x = Tensor.of(xv, new long[] {rows, in}, device), w = Tensor.of(wv, new long[] {out, in}, device), b = Tensor.of(bv, new long[] {out}, device);
                Tensor res = Tensor.of(rv, new long[] {rows, out}, device), g = Tensor.of(gv, new long[] {rows, out}, device);
                LinearGrads grads = F.linearBackward(x, w, b, act, g);
                String what = "linear + " + name + " + residual on " + device;
                long[] xs = {rows, in}, wsh = {out, in}, bsh = {out};
                RowChecks.assertFiniteDifferences(device, xv, xs, gv, t -> F.linear(t, w, b, act, res),
                        grads.input().toFloatArray(), "grad_x " + what);
                RowChecks.assertFiniteDifferences(device, wv, wsh, gv, t -> F.linear(x, t, b, act, res),
                        grads.weight().toFloatArray(), "grad_weight " + what);
                RowChecks.assertFiniteDifferences(device, bv, bsh, gv, t -> F.linear(x, w, t, act, res),
                        grads.bias().toFloatArray(), "grad_bias " + what);
            }
        }
    }
}
