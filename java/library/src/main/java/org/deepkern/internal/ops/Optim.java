package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;

import java.util.List;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_adamw_options;
import org.deepkern.bindings.dk_sgd_options;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.Native;

/**
 * The multi-tensor optimizer steps and the global gradient norm (kernels/optim): one native call,
 * one launch, for every tensor of a list. Tensors are checked (given, open, one device) under the
 * names the native call uses for them ({@code params[3]}). Not part of the public API.
 */
public final class Optim {
    private Optim() {}

    /** The native handles of a list of tensors, each checked as {@code name[i]}; null entries stay null. */
    private static PointerPointer<dk_tensor> handles(Call c, String name, List<Tensor> ts, boolean nullable) {
        PointerPointer<dk_tensor> pp = new PointerPointer<>(Math.max(1, ts.size()));
        for (int i = 0; i < ts.size(); i++) {
            Tensor t = ts.get(i);
            if (t == null && nullable) pp.put(i, null);
            else pp.put(i, c.in(name + "[" + i + "]", t));
        }
        return pp;
    }

    /** Native list names in a message ('exp_avgs[2]') as Java's ('expAvgs[2]'). */
    private static void check(Call c, int status) {
        if (status == 0) return;
        DeepKernException e = Native.error(c.op(), status);
        throw new DeepKernException(e.status(), e.getMessage().replace("'exp_avgs[", "'expAvgs[")
                .replace("'exp_avg_sqs[", "'expAvgSqs[").replace("'momentum_buffers[", "'momentumBuffers["));
    }

    /** As handles, or null for a null list. */
    private static PointerPointer<dk_tensor> optionalHandles(Call c, String name, List<Tensor> ts) {
        return ts == null ? null : handles(c, name, ts, true);
    }

    /** One AdamW step over every params[i] (see dk_adamw_step); masters and gradScale may be null. */
    public static void adamwStep(Call c, double lr, double beta1, double beta2, double eps, double weightDecay,
                                 List<Tensor> params, List<Tensor> grads, List<Tensor> expAvgs, List<Tensor> expAvgSqs,
                                 List<Tensor> masters, long[] steps, Tensor gradScale) {
        int n = params.size();
        try (dk_adamw_options o = new dk_adamw_options().lr((float) lr).beta1((float) beta1).beta2((float) beta2)
                .eps((float) eps).weight_decay((float) weightDecay);
             PointerPointer<dk_tensor> p = handles(c, "params", params, false);
             PointerPointer<dk_tensor> g = handles(c, "grads", grads, false);
             PointerPointer<dk_tensor> m = handles(c, "expAvgs", expAvgs, false);
             PointerPointer<dk_tensor> v = handles(c, "expAvgSqs", expAvgSqs, false);
             PointerPointer<dk_tensor> w = optionalHandles(c, "masters", masters);
             LongPointer s = new LongPointer(steps.length == 0 ? new long[] {1} : steps)) {
            check(c, dk_adamw_step(c.context(), o, n, p, g, m, v, w, s, c.optional("gradScale", gradScale)));
        }
    }

    /** One SGD step over every params[i] (see dk_sgd_step); buffers (momentum 0), masters, gradScale may be null. */
    public static void sgdStep(Call c, double lr, double momentum, double dampening, double weightDecay,
                               boolean nesterov, List<Tensor> params, List<Tensor> grads, List<Tensor> buffers,
                               List<Tensor> masters, long[] steps, Tensor gradScale) {
        int n = params.size();
        try (dk_sgd_options o = new dk_sgd_options().lr((float) lr).momentum((float) momentum)
                .dampening((float) dampening).weight_decay((float) weightDecay).nesterov(nesterov ? 1 : 0);
             PointerPointer<dk_tensor> p = handles(c, "params", params, false);
             PointerPointer<dk_tensor> g = handles(c, "grads", grads, false);
             PointerPointer<dk_tensor> b = buffers == null ? null : handles(c, "momentumBuffers", buffers, false);
             PointerPointer<dk_tensor> w = optionalHandles(c, "masters", masters);
             LongPointer s = new LongPointer(steps.length == 0 ? new long[] {1} : steps)) {
            check(c, dk_sgd_step(c.context(), o, n, p, g, b, w, s, c.optional("gradScale", gradScale)));
        }
    }

    /** The global L2 norm of grads into totalNorm and, when given, the clip scale into clipScale. */
    public static void gradNorm(Call c, List<Tensor> grads, double maxNorm, Tensor totalNorm, Tensor clipScale) {
        try (PointerPointer<dk_tensor> g = handles(c, "grads", grads, false)) {
            c.tensor("totalNorm", totalNorm);
            c.check(dk_grad_norm(c.context(), grads.size(), g, (float) maxNorm, c.in("totalNorm", totalNorm),
                    c.optional("clipScale", clipScale)));
        }
    }

    /** clip_grad_norm_: the norm into totalNorm, every gradient scaled in place. */
    public static void clipGradNorm(Call c, List<Tensor> grads, double maxNorm, Tensor totalNorm) {
        try (PointerPointer<dk_tensor> g = handles(c, "grads", grads, false)) {
            c.tensor("totalNorm", totalNorm);
            c.check(dk_clip_grad_norm(c.context(), grads.size(), g, (float) maxNorm, c.in("totalNorm", totalNorm)));
        }
    }
}
