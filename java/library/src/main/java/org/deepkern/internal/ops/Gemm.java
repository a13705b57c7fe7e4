package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import java.util.Arrays;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.ops.Act;
import org.deepkern.ops.ActivationGrads;
import org.deepkern.ops.LinearGrads;
import org.deepkern.ops.MatmulGrads;

/**
 * Matrix products (kernels/gemm): matmul and linear with its fused epilogue, and their gradients
 * composed of products. Every shape comes from the native shape queries. Not part of the public API.
 */
public final class Gemm {
    private Gemm() {}

    public static Tensor matmul(Call c, Tensor a, Tensor b, boolean transA, boolean transB) {
        Tensor ta = c.tensor("a", a), tb = c.tensor("b", b);
        return Derivatives.matmul(c, a, b, transA, transB, fresh(c.output(ta.dtype(), matmulShape(c, ta, tb, transA, transB)),
                out -> matmul(c, a, b, transA, transB, out)));
    }

    public static Tensor matmul(Call c, Tensor a, Tensor b, boolean transA, boolean transB, Tensor out) {
        c.tensor("a", a);
        c.check(dk_matmul(c.context(), c.in("a", a), c.in("b", b), transA ? 1 : 0, transB ? 1 : 0, c.in("out", out)));
        return out;
    }

    private static long[] matmulShape(Call c, Tensor a, Tensor b, boolean transA, boolean transB) {
        return c.shape((shape, ndim) -> dk_matmul_output_shape(c.context(), handle(a), handle(b), transA ? 1 : 0,
                transB ? 1 : 0, shape, ndim));
    }

    /** act(x @ weight^T + bias) + residual; act, bias and residual may be null. */
    public static Tensor linear(Call c, Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual) {
        Tensor in = c.tensor("x", x), w = c.tensor("weight", weight);
        return Derivatives.linear(c, x, weight, bias, act, residual,
                fresh(c.output(in.dtype(), linearShape(c, in, w)), out -> linear(c, x, weight, bias, act, residual, out)));
    }

    public static Tensor linear(Call c, Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual, Tensor out) {
        c.tensor("x", x);
        c.check(dk_linear(c.context(), c.in("x", x), c.in("weight", weight), c.optional("bias", bias),
                act == null ? null : Activations.descriptor(c, act), c.optional("residual", residual), c.in("out", out)));
        return out;
    }

    private static long[] linearShape(Call c, Tensor x, Tensor w) {
        return c.shape((shape, ndim) -> dk_linear_output_shape(c.context(), handle(x), handle(w), shape, ndim));
    }

    /**
     * The gradients of linear(x, weight, bias) without activation: of x (gradOut @ weight), of weight
     * (gradOut^T @ x over every row) and, when withBias, of bias (gradOut summed over rows).
     */
    public static LinearGrads linearBackward(Call c, Tensor x, Tensor weight, Tensor gradOut, boolean withBias) {
        Tensor in = c.tensor("x", x), w = c.tensor("weight", weight), g = c.tensor("gradOut", gradOut);
        checkGradOut(c, linearShape(c, in, w), g);
        long k = in.shape(in.ndim() - 1), n = w.shape(0);
        long rows = k == 0 ? 0 : in.numel() / k;
        try (Scope outputs = Scope.open(); Tensor g2 = g.reshape(rows, n); Tensor x2 = in.reshape(rows, k)) {
            Tensor gx = matmul(c, g, w, false, false);
            Tensor gw = matmul(c, g2, x2, true, false);
            Tensor gb = null;
            if (withBias) {
                try (Tensor ones = Tensor.full(new long[] {1, rows}, 1.0, in.dtype(), in.device());
                     Tensor s = matmul(c, ones, g2, false, false)) {
                    gb = s.reshape(n);
                }
            }
            return new LinearGrads(outputs.keep(gx), outputs.keep(gw), outputs.keep(gb));
        }
    }

    /**
     * The gradients of act(x @ weight^T + bias) (+ residual, whose gradient is gradOut itself): the
     * pre-activation is recomputed by the product without bias, the activation's backward takes it
     * with the bias and gives the gradient of the pre-activation and (summed over rows) of the bias,
     * and the product's gradients follow from it. act and bias may be null.
     */
    public static LinearGrads linearBackward(Call c, Tensor x, Tensor weight, Tensor bias, Act act, Tensor gradOut) {
        if (act == null) return linearBackward(c, x, weight, gradOut, bias != null);
        Tensor in = c.tensor("x", x), w = c.tensor("weight", weight), g = c.tensor("gradOut", gradOut);
        if (bias != null) c.tensor("bias", bias);
        checkGradOut(c, linearShape(c, in, w), g);
        try (Scope outputs = Scope.open(); Tensor pre = linear(c, x, weight, null, null, null)) {
            Tensor gradPre, gb = null;
            if (bias != null) {
                ActivationGrads ag = Activations.backward(c, act, pre, bias, gradOut);
                gradPre = ag.input();
                gb = ag.bias();
            } else {
                gradPre = Activations.backward(c, act, pre, gradOut);
            }
            LinearGrads lg = linearBackward(c, x, weight, gradPre, false);
            return new LinearGrads(outputs.keep(lg.input()), outputs.keep(lg.weight()), outputs.keep(gb));
        }
    }

    /**
     * The gradients of matmul(a, b, transA, transB), shaped like a and b: for C = op(a) op(b),
     * d op(a) = dC op(b)^T and d op(b) = op(a)^T dC per batch, as products with transposed operands
     * (no copy). An operand broadcast along batch dims gets its gradient summed over them (torch's
     * semantics); a vector operand gets a vector gradient.
     */
    public static MatmulGrads matmulBackward(Call c, Tensor a, Tensor b, Tensor gradOut, boolean transA,
                                             boolean transB) {
        Tensor ta = c.tensor("a", a), tb = c.tensor("b", b), g = c.tensor("gradOut", gradOut);
        checkGradOut(c, matmulShape(c, ta, tb, transA, transB), g);
        // a vector operand as the matrix the product sees ([1, K] first, [K, 1] second), which has no transpose
        long[] as = asMatrix(ta, true), bs = asMatrix(tb, false);
        boolean tA = transA && ta.ndim() > 1, tB = transB && tb.ndim() > 1;
        try (Scope outputs = Scope.open(); Tensor a2 = ta.reshape(as); Tensor b2 = tb.reshape(bs)) {
            long[] out = matmulShape(c, a2, b2, tA, tB);
            try (Tensor g2 = g.reshape(out)) {
                Tensor ga, gb;
                try (Tensor full = tA ? matmul(c, b2, g2, tB, true) : matmul(c, g2, b2, false, !tB)) {
                    ga = sumToShape(c, full, as, ta.shape());
                }
                if (batchNumel(bs) == 1 && batchNumel(as) == batchNumel(out) && !tA) {
                    // b is shared by every batch and a is not: its gradient is one product over all rows of a
                    long k = as[as.length - 1], n = out[out.length - 1], rows = batchNumel(out) * as[as.length - 2];
                    try (Tensor af = a2.reshape(rows, k); Tensor gf = g2.reshape(rows, n);
                         Tensor prod = tB ? matmul(c, gf, af, true, false) : matmul(c, af, gf, true, false)) {
                        gb = prod.reshape(tb.shape());
                    }
                } else {
                    try (Tensor full = tB ? matmul(c, g2, a2, true, tA) : matmul(c, a2, g2, !tA, false)) {
                        gb = sumToShape(c, full, bs, tb.shape());
                    }
                }
                return new MatmulGrads(outputs.keep(ga), outputs.keep(gb));
            }
        }
    }

    /** gradOut must have the forward output's shape. */
    private static void checkGradOut(Call c, long[] expected, Tensor g) {
        if (!Arrays.equals(g.shape(), expected)) throw c.invalid("gradOut",
                "expected the output's shape " + Arrays.toString(expected) + ", got " + Arrays.toString(g.shape()));
    }

    private static long[] asMatrix(Tensor t, boolean first) {
        long[] s = t.shape();
        return s.length > 1 ? s : first ? new long[] {1, s[0]} : new long[] {s[0], 1};
    }

    private static long batchNumel(long[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 2; i++) n *= shape[i];
        return n;
    }

    /**
     * full [batch..., r, c] summed over the batch dims where target [tbatch..., r, c] has extent 1 or
     * none (it broadcast there), returned in the shape {@code as} (same element count as target).
     * Each run of such dims between kept ones is one product with a ones column over a view:
     * [P, R, Q] -> [P, R, Q]^T-per-batch @ ones [R, 1] = [P, Q, 1], the same elements as [P, 1, Q].
     * The result is a new tensor (or a view of full).
     */
    private static Tensor sumToShape(Call c, Tensor full, long[] target, long[] as) {
        long[] s = full.shape();
        int q = s.length - 2, lead = s.length - target.length;
        try (Scope temps = Scope.open()) {
            Tensor cur = full;
            for (int i = 0; i < q; ) {
                if (i >= lead && target[i - lead] != 1 || s[i] == 1) {
                    i++;
                    continue;
                }
                int j = i;
                long p = 1, r = 1, rest = 1;
                while (j < q && (j < lead || target[j - lead] == 1)) r *= s[j++];
                for (int d = 0; d < i; d++) p *= s[d];
                for (int d = j; d < s.length; d++) rest *= s[d];
                for (int d = i; d < j; d++) s[d] = 1;
                Tensor ones = Tensor.full(new long[] {r, 1}, 1.0, full.dtype(), full.device());
                cur = matmul(c, cur.view(p, r, rest), ones, true, false).view(s);
                i = j;
            }
            return temps.keep(cur.view(as));
        }
    }
}
