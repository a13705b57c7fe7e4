package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;

import java.util.Arrays;
import org.bytedeco.javacpp.LongPointer;
import org.deepkern.DType;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_attention_params;
import org.deepkern.internal.Call;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;

/**
 * Scaled dot-product attention (kernels/attention), forward and backward. Not part of the public API.
 *
 * <p>The kernels take [B, H, L, D] with D in {@link #KERNEL_HEAD_DIMS}. torch's [..., L, D] inputs are
 * brought to that form here: the leading dims become B and H (views where the strides allow), and
 * another head dim up to 256 is padded with zero columns to the next kernel's: zeros add nothing to
 * q k^T, the padded columns of the output and of every gradient are zero and are cut off, and the
 * scale stays 1/sqrt(D) of the real D.
 */
public final class Attention {
    private Attention() {}

    /** The head dims the kernels are instantiated for (dk_attention_forward's check). */
    private static final long[] KERNEL_HEAD_DIMS = {32, 64, 96, 128, 256};

    private static dk_attention_params params(Call c, AttentionParams p) {
        CausalMask causal = c.required("params.causal", p.causal(), "a causal mask (NONE for none)");
        int code = switch (causal) {
            case NONE -> DK_CAUSAL_NONE;
            case TOP_LEFT -> DK_CAUSAL_TOP_LEFT;
            case BOTTOM_RIGHT -> DK_CAUSAL_BOTTOM_RIGHT;
        };
        return new dk_attention_params().scale(p.scale()).causal(code);
    }

    /** The forward into new tensors. */
    public static AttentionResult forward(Call c, Tensor q, Tensor k, Tensor v, AttentionParams p) {
        return Derivatives.attention(c, q, k, v, p, Derivatives.untaped(() -> forward(c, q, k, v, p, null)));
    }

    /**
     * The forward; out (null: a new tensor) has q's shape and may be a view whose last dim is
     * contiguous, such as a [B, L, H, D] tensor permuted to [B, H, L, D]; it is returned as the result's out.
     */
    public static AttentionResult forward(Call c, Tensor q, Tensor k, Tensor v, AttentionParams p, Tensor out) {
        AttentionParams params = c.required("params", p, "attention parameters");
        Tensor tq = c.tensor("q", q);
        c.tensor("k", k);
        c.tensor("v", v);
        if (out != null && !Arrays.equals(c.tensor("out", out).shape(), tq.shape())) throw c.invalid("out",
                "expected the shape of 'q' " + Arrays.toString(tq.shape()) + ", got " + Arrays.toString(out.shape()));
        if (out != null && out.dtype() != tq.dtype()) throw c.invalid("out", "expected dtype "
                + tq.dtype().name().toLowerCase() + " (the dtype of 'q'), got " + out.dtype().name().toLowerCase());
        try (Scope scope = Scope.open()) {
            Problem pb = new Problem(c, q, k, v, params);
            // a given out is written in place when the kernels' form of it is a view, else copied into
            Tensor direct = out == null || pb.dp != pb.d ? null : out.ndim() == 4 ? out
                    : out.isContiguous() ? out.view(pb.q.shape()) : null;
            Tensor o4, lse;
            try (dk_attention_params np = params(c, pb.params);
                 LongPointer outShape = new LongPointer(4); LongPointer lseShape = new LongPointer(3)) {
                var qh = c.in("q", pb.q);
                var kh = c.in("k", pb.k);
                var vh = c.in("v", pb.v);
                var keyLengths = c.optional("keyLengths", pb.params.keyLengths());
                var bias = c.optional("bias", pb.params.bias());
                c.check(dk_attention_output_shapes(c.context(), np, qh, kh, vh, keyLengths, bias, outShape, lseShape));
                long[] os = new long[4], ls = new long[3];
                outShape.get(os);
                lseShape.get(ls);
                o4 = direct != null ? direct : c.output(tq.dtype(), os);
                lse = c.output(DType.F32, ls);
                c.check(dk_attention_forward(c.context(), np, qh, kh, vh, keyLengths, bias, c.in("out", o4),
                        c.in("logsumexp", lse)));
            }
            Tensor result = direct != null ? out : pb.unpadded(o4, tq.shape(), out);
            return new AttentionResult(scope.keep(result), scope.keep(lse.reshape(pb.rowsShape())));
        }
    }

    public static AttentionGrads backward(Call c, Tensor q, Tensor k, Tensor v, AttentionResult forward, Tensor gradOut,
                                          AttentionParams p) {
        AttentionParams params = c.required("params", p, "attention parameters");
        c.required("forward", forward, "the forward's result");
        Tensor tq = c.tensor("q", q), tk = c.tensor("k", k), tv = c.tensor("v", v);
        try (Scope scope = Scope.open()) {
            Problem pb = new Problem(c, q, k, v, params);
            Tensor fo = pb.padded(pb.kernelForm(c.tensor("forward.out", forward.out()), "forward.out", c));
            Tensor go = pb.padded(pb.kernelForm(c.tensor("gradOut", gradOut), "gradOut", c));
            Tensor lse = c.tensor("forward.logsumexp", forward.logsumexp());
            if (tq.ndim() != 4) lse = lse.reshape(pb.q.shape(0), pb.q.shape(1), pb.q.shape(2));
            Tensor gq = c.output(tq.dtype(), pb.q.shape());
            Tensor gk = c.output(tk.dtype(), pb.k.shape());
            Tensor gv = c.output(tv.dtype(), pb.v.shape());
            try (dk_attention_params np = params(c, pb.params)) {
                c.check(dk_attention_backward(c.context(), np, c.in("q", pb.q), c.in("k", pb.k), c.in("v", pb.v),
                        c.optional("keyLengths", pb.params.keyLengths()), c.optional("bias", pb.params.bias()),
                        c.in("forward.out", fo), c.in("forward.logsumexp", lse),
                        c.in("gradOut", go), c.in("gradQ", gq), c.in("gradK", gk), c.in("gradV", gv)),
                        "out", "forward.out", "logsumexp", "forward.logsumexp");
            }
            return new AttentionGrads(scope.keep(pb.unpadded(gq, tq.shape(), null)),
                    scope.keep(pb.unpadded(gk, tk.shape(), null)), scope.keep(pb.unpadded(gv, tv.shape(), null)));
        }
    }

    /**
     * One call in the kernels' form: q, k, v as [B, H, L, Dp] (views where the strides allow, zero
     * padded copies when Dp > D) and the params with the bias brought along and the scale of the
     * real D. Its temporaries belong to the caller's scope.
     */
    private static final class Problem {
        final long[] qShape;
        final long d, dp;
        final Tensor q, k, v;
        final AttentionParams params;

        Problem(Call c, Tensor q, Tensor k, Tensor v, AttentionParams p) {
            qShape = q.shape();
            d = qShape.length > 0 ? qShape[qShape.length - 1] : 0;
            long maxDim = KERNEL_HEAD_DIMS[KERNEL_HEAD_DIMS.length - 1];
            if (q.ndim() < 2 || d < 1 || d > maxDim)
                throw c.invalid("q", "expected [..., L, D] with 1 <= D <= " + maxDim + ", got " + Arrays.toString(qShape));
            long pad = maxDim;
            for (int i = KERNEL_HEAD_DIMS.length - 1; i >= 0 && KERNEL_HEAD_DIMS[i] >= d; i--) pad = KERNEL_HEAD_DIMS[i];
            dp = pad;
            boolean fourD = q.ndim() == 4;
            if (!fourD && p.keyLengths() != null) throw c.invalid("params.keyLengths",
                    "expected none: key lengths index dim 0 of [B, H, L, D] inputs, and q has shape " + Arrays.toString(qShape));
            Tensor bias = p.bias();
            if (!fourD && bias != null && bias.ndim() > 2 && !(q.ndim() == 3 && bias.ndim() == 3))
                throw c.invalid("params.bias", "expected at most 2 dims (3 with a 3-dim q) for q of shape "
                        + Arrays.toString(qShape) + ", got " + Arrays.toString(bias.shape()));
            if (!fourD && k.ndim() != q.ndim()) throw c.invalid("k", "expected " + q.ndim() + " dims as 'q' "
                    + Arrays.toString(qShape) + ", got " + Arrays.toString(k.shape()));
            // checked here, before any padding changes the head dim the native checks would report
            for (Tensor t : new Tensor[] {k, v})
                if (t.ndim() > 0 && t.shape(-1) != d) throw c.invalid(t == k ? "k" : "v", "expected head dim " + d
                        + " (the last dim of 'q'), got shape " + Arrays.toString(t.shape()));
            this.q = padded(fourD ? q : as4d(q));
            this.k = padded(fourD ? k : as4d(k));
            this.v = padded(fourD ? v : as4d(v));
            AttentionParams np = p;
            if (bias != null && !fourD && bias.ndim() == 3) np = np.withBias(bias.unsqueeze(0));
            if (dp != d && (p.scale() == 0 || Double.isNaN(p.scale()))) np = np.withScale(1 / Math.sqrt(d));
            params = np;
        }

        /** [..., L, D] as [B, H, L, D]: H the dim before L (1 if none), B the product of the rest. */
        private static Tensor as4d(Tensor t) {
            long[] s = t.shape();
            int n = s.length;
            if (n < 2) return t;  // the native check names it
            long b = 1;
            for (int i = 0; i < n - 3; i++) b *= s[i];
            return t.reshape(b, n >= 3 ? s[n - 3] : 1, s[n - 2], s[n - 1]);
        }

        /** A tensor shaped like q (the forward's out, its gradient) in the kernels' form, before padding. */
        Tensor kernelForm(Tensor t, String name, Call c) {
            if (!Arrays.equals(t.shape(), qShape)) throw c.invalid(name, "expected the shape of 'q' "
                    + Arrays.toString(qShape) + ", got " + Arrays.toString(t.shape()));
            return t.ndim() == 4 ? t : as4d(t);
        }

        /** t [B, H, L, D] with zero columns up to Dp, or t itself when Dp = D (or t is malformed). */
        Tensor padded(Tensor t) {
            if (dp == d || t.ndim() != 4 || t.shape(3) != d) return t;
            long[] s = t.shape();
            s[3] = dp;
            Tensor z = Tensor.zeros(s, t.dtype(), t.device());
            try (Tensor cols = z.narrow(3, 0, d)) {
                cols.copyFrom(t);
            }
            return z;
        }

        /** A [B, H, L, Dp] result without its padding, in the caller's shape, copied into out if given. */
        Tensor unpadded(Tensor t4, long[] shape, Tensor out) {
            Tensor cut = dp == d ? t4 : t4.narrow(3, 0, d);
            if (out != null) return out.copyFrom(cut.reshape(shape));
            return cut.reshape(shape).contiguous();
        }

        long[] rowsShape() {
            return Arrays.copyOf(qShape, qShape.length - 1);
        }
    }
}
