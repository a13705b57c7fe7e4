package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;

import org.deepkern.Tensor;
import org.deepkern.bindings.dk_cross_entropy_params;
import org.deepkern.internal.Call;
import org.deepkern.ops.Reduction;

/**
 * The losses (kernels/loss), forward and backward: the element-wise losses, cross-entropy over
 * class indices and CenterNet's focal loss. Not part of the public API.
 */
public final class Losses {
    private Losses() {}

    /** The element-wise kinds, as deepkern.h's dk_loss_kind numbers them. */
    public static final int MSE = DK_LOSS_MSE, L1 = DK_LOSS_L1, SMOOTH_L1 = DK_LOSS_SMOOTH_L1,
            BCE_WITH_LOGITS = DK_LOSS_BCE_WITH_LOGITS;

    private static int reduction(Call c, Reduction r) {
        return c.required("reduction", r, "NONE, MEAN or SUM").ordinal();
    }

    /** The shape of a loss over items shaped like items: items' shape unreduced, 0-d otherwise. */
    private static long[] lossShape(Reduction r, Tensor items) {
        return r == Reduction.NONE ? items.shape() : new long[0];
    }

    public static Tensor forward(Call c, int kind, Tensor input, Tensor target, Reduction r, double beta,
                                 Tensor posWeight) {
        Tensor in = c.tensor("input", input);
        c.tensor("target", target);
        int red = reduction(c, r);
        return Derivatives.loss(c, kind, input, target, r, beta, posWeight, fresh(c.output(in.dtype(), lossShape(r, in)),
                out -> c.check(dk_loss_forward(c.context(), kind, red, (float) beta, c.in("input", input),
                        c.in("target", target), c.optional("posWeight", posWeight), c.in("out", out)))));
    }

    public static Tensor backward(Call c, int kind, Tensor gradOut, Tensor input, Tensor target, Reduction r,
                                  double beta, Tensor posWeight) {
        c.tensor("gradOut", gradOut);
        Tensor in = c.tensor("input", input);
        c.tensor("target", target);
        int red = reduction(c, r);
        return fresh(c.output(in.dtype(), in.shape()), g -> c.check(dk_loss_backward(c.context(), kind, red,
                (float) beta, c.in("input", input), c.in("target", target), c.optional("posWeight", posWeight),
                c.in("gradOut", gradOut), c.in("gradInput", g))));
    }

    private static dk_cross_entropy_params params(Call c, Reduction r, long ignoreIndex, double labelSmoothing) {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw c.invalid("labelSmoothing", "expected a value in [0, 1], got " + labelSmoothing);
        return new dk_cross_entropy_params().reduction(reduction(c, r)).ignore_index(ignoreIndex)
                .label_smoothing((float) labelSmoothing);
    }

    private static final String[] CE_NAMES = {"params.reduction", "reduction", "params.ignore_index", "ignoreIndex",
        "params.label_smoothing", "labelSmoothing"};

    public static Tensor crossEntropy(Call c, Tensor logits, Tensor target, Reduction r, long ignoreIndex,
                                      double labelSmoothing) {
        Tensor x = c.tensor("logits", logits);
        Tensor t = c.tensor("target", target);
        try (dk_cross_entropy_params p = params(c, r, ignoreIndex, labelSmoothing)) {
            return Derivatives.crossEntropy(c, logits, target, r, ignoreIndex, labelSmoothing, fresh(c.output(x.dtype(),
                    lossShape(r, t)), out -> c.check(dk_cross_entropy_forward(c.context(), p, c.in("logits", logits),
                    c.in("target", target), c.in("out", out)), CE_NAMES)));
        }
    }

    public static Tensor crossEntropyBackward(Call c, Tensor gradOut, Tensor logits, Tensor target, Reduction r,
                                              long ignoreIndex, double labelSmoothing) {
        c.tensor("gradOut", gradOut);
        Tensor x = c.tensor("logits", logits);
        c.tensor("target", target);
        try (dk_cross_entropy_params p = params(c, r, ignoreIndex, labelSmoothing)) {
            return fresh(c.output(x.dtype(), x.shape()), g -> c.check(dk_cross_entropy_backward(c.context(), p,
                    c.in("logits", logits), c.in("target", target), c.in("gradOut", gradOut),
                    c.in("gradLogits", g)), CE_NAMES));
        }
    }

    public static Tensor focal(Call c, Tensor logits, Tensor heatmap, double alpha, double beta) {
        Tensor x = c.tensor("logits", logits);
        c.tensor("heatmap", heatmap);
        return Derivatives.focal(c, logits, heatmap, alpha, beta, fresh(c.output(x.dtype()), out -> c.check(
                dk_centernet_focal_loss_forward(c.context(), (float) alpha, (float) beta, c.in("logits", logits),
                        c.in("heatmap", heatmap), c.in("out", out)))));
    }

    public static Tensor focalBackward(Call c, Tensor gradOut, Tensor logits, Tensor heatmap, double alpha,
                                       double beta) {
        c.tensor("gradOut", gradOut);
        Tensor x = c.tensor("logits", logits);
        c.tensor("heatmap", heatmap);
        return fresh(c.output(x.dtype(), x.shape()), g -> c.check(dk_centernet_focal_loss_backward(c.context(),
                (float) alpha, (float) beta, c.in("logits", logits), c.in("heatmap", heatmap),
                c.in("gradOut", gradOut), c.in("gradLogits", g))));
    }
}
