package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handleOrNull;

import org.deepkern.DType;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.ops.NormGrads;

/**
 * softmax, log_softmax, layer_norm and rms_norm over the last dim (kernels/norm), and their
 * backwards. Not part of the public API.
 */
public final class Norms {
    private Norms() {}

    public static Tensor softmax(Call c, Tensor x, boolean log) {
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), out -> softmax(c, x, log, out));
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
        return fresh(c.output(in.dtype(), in.shape()), out -> layerNorm(c, x, weight, bias, eps, out));
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
        return fresh(c.output(in.dtype(), in.shape()), out -> rmsNorm(c, x, weight, eps, out));
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

    /** eps as the native ops take it: an f32 above 0. */
    private static float eps(Call c, double eps) {
        if (!((float) eps > 0) || Float.isInfinite((float) eps))
            throw c.invalid("eps", "expected a finite number > 0 (as an f32), got " + eps);
        return (float) eps;
    }
}
