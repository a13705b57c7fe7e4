package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handleOrNull;

import java.util.Arrays;
import org.deepkern.DType;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.ops.NormGrads;

/**
 * softmax, log_softmax, layer_norm and rms_norm over the last dim (kernels/norm), and their
 * backwards; a normalized shape is flattened onto the last dim (a view when x is contiguous), and
 * softmax over another dim swaps it with the last (a transposed view in, a copy out). Not part of
 * the public API.
 */
public final class Norms {
    private Norms() {}

    public static Tensor softmax(Call c, Tensor x, boolean log) {
        Tensor in = c.tensor("x", x);
        return Derivatives.softmax(c, x, log, fresh(c.output(in.dtype(), in.shape()), out -> softmax(c, x, log, out)));
    }

    public static Tensor softmax(Call c, Tensor x, boolean log, Tensor out) {
        c.tensor("x", x);
        c.check(dk_softmax_forward(c.context(), c.in("x", x), log ? 1 : 0, c.in("out", out)));
        return out;
    }

    public static Tensor softmaxBackward(Call c, Tensor y, Tensor gradOut, boolean log) {
        Tensor in = c.tensor("y", y);
        return fresh(c.output(in.dtype(), in.shape()), gradX -> c.check(dk_softmax_backward(c.context(), c.in("y", y),
                c.in("gradOut", gradOut), log ? 1 : 0, c.in("gradX", gradX))));
    }

    public static Tensor layerNorm(Call c, Tensor x, Tensor weight, Tensor bias, double eps) {
        Tensor in = c.tensor("x", x);
        eps(c, eps);
        return Derivatives.norm(c, x, weight, bias, eps, false,
                fresh(c.output(in.dtype(), in.shape()), out -> layerNorm(c, x, weight, bias, eps, out)));
    }

    public static Tensor layerNorm(Call c, Tensor x, Tensor weight, Tensor bias, double eps, Tensor out) {
        c.tensor("x", x);
        float e = eps(c, eps);
        c.check(dk_layer_norm_forward(c.context(), c.in("x", x), c.optional("weight", weight), c.optional("bias", bias),
                e, c.in("out", out)));
        return out;
    }

    public static Tensor rmsNorm(Call c, Tensor x, Tensor weight, double eps) {
        Tensor in = c.tensor("x", x);
        eps(c, eps);
        return Derivatives.norm(c, x, weight, null, eps, true,
                fresh(c.output(in.dtype(), in.shape()), out -> rmsNorm(c, x, weight, eps, out)));
    }

    public static Tensor rmsNorm(Call c, Tensor x, Tensor weight, double eps, Tensor out) {
        c.tensor("x", x);
        float e = eps(c, eps);
        c.check(dk_rms_norm_forward(c.context(), c.in("x", x), c.optional("weight", weight), e, c.in("out", out)));
        return out;
    }

    /** The gradients of layer_norm (rms false; of bias when withBias) or rms_norm (rms true). */
    public static NormGrads backward(Call c, Tensor x, Tensor weight, Tensor gradOut, double eps, boolean withBias,
                                     boolean rms) {
        Tensor in = c.tensor("x", x);
        if (weight != null) c.tensor("weight", weight);
        c.tensor("gradOut", gradOut);
        float e = eps(c, eps);
        long[] s = in.shape();
        // [C], C the last dim; a scalar x is left for the native validation to report
        long[] param = {s.length == 0 ? 1 : s[s.length - 1]};
        try (Scope outputs = Scope.open()) {
            Tensor gradX = c.output(in.dtype(), s);
            // the parameters' gradients in the weight's dtype: f32 for an f16 / bf16 x in mixed precision
            DType paramType = weight == null ? in.dtype() : weight.dtype();
            Tensor gradW = weight == null ? null : c.output(paramType, param);
            Tensor gradB = withBias ? c.output(paramType, param) : null;
            var w = c.optional("weight", weight);
            var g = c.in("gradOut", gradOut);
            var gx = c.in("gradX", gradX);
            c.check(rms ? dk_rms_norm_backward(c.context(), c.in("x", x), w, g, e, gx, handleOrNull(gradW))
                    : dk_layer_norm_backward(c.context(), c.in("x", x), w, g, e, gx, handleOrNull(gradW),
                            handleOrNull(gradB)));
            return new NormGrads(outputs.keep(gradX), outputs.keep(gradW), outputs.keep(gradB));
        }
    }

    // ---- over any dim or a trailing normalized shape: views onto the last-dim kernels ----

    /** softmax or log_softmax over dim: another dim is swapped with the last, and the result back. */
    public static Tensor softmax(Call c, Tensor x, int dim, boolean log) {
        Tensor in = c.tensor("x", x);
        int d = dim(c, in, dim);
        // the last dim, or a scalar (which the native validation reports)
        if (d >= in.ndim() - 1) return softmax(c, x, log);
        try (Tensor xt = x.transpose(d, -1); Tensor yt = softmax(c, xt, log); Tensor y = yt.transpose(d, -1)) {
            return y.contiguous();
        }
    }

    public static Tensor softmaxBackward(Call c, Tensor y, Tensor gradOut, int dim, boolean log) {
        Tensor out = c.tensor("y", y);
        int d = dim(c, out, dim);
        if (d >= out.ndim() - 1) return softmaxBackward(c, y, gradOut, log);
        // checked here, so a wrong shape is reported as given, not transposed
        if (!Arrays.equals(c.tensor("gradOut", gradOut).shape(), out.shape())) throw c.invalid("gradOut",
                "expected shape " + Arrays.toString(out.shape()) + " (y's), got " + Arrays.toString(gradOut.shape()));
        try (Tensor yt = y.transpose(d, -1); Tensor gt = gradOut.transpose(d, -1);
             Tensor gxt = softmaxBackward(c, yt, gt, log); Tensor gx = gxt.transpose(d, -1)) {
            return gx.contiguous();
        }
    }

    public static Tensor layerNorm(Call c, Tensor x, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return overShape(c, x, normalizedShape, weight, bias, (xr, w, b) -> layerNorm(c, xr, w, b, eps));
    }

    public static Tensor rmsNorm(Call c, Tensor x, long[] normalizedShape, Tensor weight, double eps) {
        return overShape(c, x, normalizedShape, weight, null, (xr, w, b) -> rmsNorm(c, xr, w, eps));
    }

    /** A last-dim norm of rows x with parameters weight and bias (either may be null). */
    private interface RowNorm {
        Tensor apply(Tensor x, Tensor weight, Tensor bias);
    }

    /** norm over the trailing dims of x that normalizedShape names (torch's normalized_shape). */
    private static Tensor overShape(Call c, Tensor x, long[] normalizedShape, Tensor weight, Tensor bias, RowNorm norm) {
        long[] rows = rowsShape(c, x, normalizedShape, weight, bias), s = x.shape();
        // one dim is the kernel's own case, where x may stay a strided view
        if (normalizedShape.length == 1) return norm.apply(x, weight, bias);
        long size = rows[rows.length - 1];
        try (Tensor xr = x.reshape(rows); Tensor w = weight == null ? null : weight.reshape(size);
             Tensor b = bias == null ? null : bias.reshape(size); Tensor y = norm.apply(xr, w, b)) {
            return y.reshape(s);
        }
    }

    /**
     * The gradients of a norm over normalizedShape (rms: rms_norm, else layer_norm; of bias when
     * withBias): the last-dim backward over the flattened rows, its results in the caller's shapes.
     */
    public static NormGrads backward(Call c, Tensor x, long[] normalizedShape, Tensor weight, Tensor gradOut, double eps,
                                     boolean withBias, boolean rms) {
        long[] rows = rowsShape(c, x, normalizedShape, weight, null), s = x.shape();
        if (!Arrays.equals(c.tensor("gradOut", gradOut).shape(), s)) throw c.invalid("gradOut",
                "expected shape " + Arrays.toString(s) + " (x's), got " + Arrays.toString(gradOut.shape()));
        long size = rows[rows.length - 1];
        try (Scope outputs = Scope.open(); Tensor xr = x.reshape(rows); Tensor gr = gradOut.reshape(rows);
             Tensor w = weight == null ? null : weight.reshape(size); NormGrads g = backward(c, xr, w, gr, eps, withBias, rms)) {
            return new NormGrads(outputs.keep(g.input().reshape(s)),
                    g.weight() == null ? null : outputs.keep(g.weight().reshape(normalizedShape)),
                    g.bias() == null ? null : outputs.keep(g.bias().reshape(normalizedShape)));
        }
    }

    /**
     * x's shape with the trailing dims normalizedShape names flattened into one (its last extent is
     * their product), checked against x, weight and bias (null for none, else shaped normalizedShape).
     */
    private static long[] rowsShape(Call c, Tensor x, long[] normalizedShape, Tensor weight, Tensor bias) {
        long[] s = c.tensor("x", x).shape();
        if (normalizedShape == null) throw c.invalid("normalizedShape", "expected a shape, got null");
        int k = normalizedShape.length;
        if (k == 0 || k > s.length || !Arrays.equals(normalizedShape, Arrays.copyOfRange(s, s.length - k, s.length)))
            throw c.invalid("normalizedShape", "expected trailing extents of x's shape " + Arrays.toString(s)
                    + " (at least one), got " + Arrays.toString(normalizedShape));
        parameter(c, "weight", weight, normalizedShape);
        parameter(c, "bias", bias, normalizedShape);
        long size = 1;
        try {
            for (long e : normalizedShape) size = Math.multiplyExact(size, e);
        } catch (ArithmeticException e) {  // possible when a leading extent of x is 0
            throw c.invalid("normalizedShape", "the product of " + Arrays.toString(normalizedShape) + " overflows a long");
        }
        long[] rows = Arrays.copyOf(s, s.length - k + 1);
        rows[rows.length - 1] = size;
        return rows;
    }

    /** A weight or bias (null for none) must be shaped normalizedShape. */
    private static void parameter(Call c, String name, Tensor p, long[] normalizedShape) {
        if (p != null && !Arrays.equals(c.tensor(name, p).shape(), normalizedShape)) throw c.invalid(name,
                "expected shape " + Arrays.toString(normalizedShape) + " (normalizedShape), got " + Arrays.toString(p.shape()));
    }

    /** dim as torch wraps it (a scalar counts as having one dim), as 0..ndim-1; checked. */
    private static int dim(Call c, Tensor x, int dim) {
        int n = Math.max(x.ndim(), 1);
        if (dim < -n || dim >= n) throw c.invalid("dim", "expected " + -n + ".." + (n - 1) + " for shape "
                + Arrays.toString(x.shape()) + ", got " + dim);
        return dim < 0 ? dim + n : dim;
    }

    /** eps as the native ops take it: an f32 above 0. */
    private static float eps(Call c, double eps) {
        if (!((float) eps > 0) || Float.isInfinite((float) eps))
            throw c.invalid("eps", "expected a finite number > 0 (as an f32), got " + eps);
        return (float) eps;
    }
}
