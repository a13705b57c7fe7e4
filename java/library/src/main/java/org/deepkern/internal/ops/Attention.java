package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;

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

/** Scaled dot-product attention (kernels/attention), forward and backward. Not part of the public API. */
public final class Attention {
    private Attention() {}

    private static dk_attention_params params(Call c, AttentionParams p) {
        CausalMask causal = c.required("params.causal", p.causal(), "a causal mask (NONE for none)");
        int code = switch (causal) {
            case NONE -> DK_CAUSAL_NONE;
            case TOP_LEFT -> DK_CAUSAL_TOP_LEFT;
            case BOTTOM_RIGHT -> DK_CAUSAL_BOTTOM_RIGHT;
        };
        return new dk_attention_params().scale(p.scale()).causal(code);
    }

    public static AttentionResult forward(Call c, Tensor q, Tensor k, Tensor v, AttentionParams p) {
        AttentionParams params = c.required("params", p, "attention parameters");
        Tensor tq = c.tensor("q", q);
        try (Scope outputs = Scope.open(); dk_attention_params np = params(c, params);
             LongPointer outShape = new LongPointer(4); LongPointer lseShape = new LongPointer(3)) {
            var qh = c.in("q", q);
            var kh = c.in("k", k);
            var vh = c.in("v", v);
            var keyLengths = c.optional("keyLengths", params.keyLengths());
            var bias = c.optional("bias", params.bias());
            c.check(dk_attention_output_shapes(c.context(), np, qh, kh, vh, keyLengths, bias, outShape, lseShape));
            long[] os = new long[4], ls = new long[3];
            outShape.get(os);
            lseShape.get(ls);
            Tensor out = c.output(tq.dtype(), os);
            Tensor lse = c.output(DType.F32, ls);
            c.check(dk_attention_forward(c.context(), np, qh, kh, vh, keyLengths, bias, c.in("out", out),
                    c.in("logsumexp", lse)));
            return new AttentionResult(outputs.keep(out), outputs.keep(lse));
        }
    }

    public static AttentionGrads backward(Call c, Tensor q, Tensor k, Tensor v, AttentionResult forward, Tensor gradOut,
                                          AttentionParams p) {
        AttentionParams params = c.required("params", p, "attention parameters");
        c.required("forward", forward, "the forward's result");
        Tensor tq = c.tensor("q", q), tk = c.tensor("k", k), tv = c.tensor("v", v);
        try (Scope outputs = Scope.open(); dk_attention_params np = params(c, params)) {
            Tensor gq = c.output(tq.dtype(), tq.shape());
            Tensor gk = c.output(tk.dtype(), tk.shape());
            Tensor gv = c.output(tv.dtype(), tv.shape());
            c.check(dk_attention_backward(c.context(), np, c.in("q", q), c.in("k", k), c.in("v", v),
                    c.optional("keyLengths", params.keyLengths()), c.optional("bias", params.bias()),
                    c.in("forward.out", forward.out()), c.in("forward.logsumexp", forward.logsumexp()),
                    c.in("gradOut", gradOut), c.in("gradQ", gq), c.in("gradK", gk), c.in("gradV", gv)),
                    "out", "forward.out", "logsumexp", "forward.logsumexp");
            return new AttentionGrads(outputs.keep(gq), outputs.keep(gk), outputs.keep(gv));
        }
    }
}
