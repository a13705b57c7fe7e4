package org.deepkern.optim;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Optim;

/** Gradient clipping over a list of parameters (torch.nn.utils). */
public final class ClipGrad {
    private ClipGrad() {}

    /**
     * torch.nn.utils.clip_grad_norm_: the L2 norm of all the parameters' gradients together, and
     * every gradient multiplied in place by {@code min(maxNorm / (norm + 1e-6), 1)}. Parameters
     * without a gradient are skipped. Deterministic (fixed-order sums, no atomics); the norm and the
     * scaling run on the device in one multi-tensor pass each, and only the norm comes back.
     *
     * @param params the parameters whose gradients to clip (one device)
     * @param maxNorm the largest norm allowed, &gt; 0
     * @return the total norm of the gradients before clipping (0 when none has a gradient)
     */
    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        Call c = new Call("ClipGrad.clipGradNorm");
        if (params == null) throw c.invalid("params", "expected a list of tensors, got null");
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm))
            throw c.invalid("maxNorm", "expected a finite value > 0, got " + maxNorm);
        List<Tensor> grads = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            Tensor p = c.tensor("params[" + i + "]", params.get(i));
            Tensor g = p.grad();
            if (g != null) grads.add(g);
        }
        if (grads.isEmpty()) return 0.0;
        try (Tensor norm = Tensor.empty(new long[] {1}, DType.F32, grads.get(0).device())) {
            Optim.clipGradNorm(c, grads, maxNorm, norm);
            return norm.toFloatArray()[0];
        }
    }
}
