package org.deepkern.optim;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Optim;

/**
 * AdamW (torch.optim.AdamW, amsgrad off) as one fused multi-tensor kernel: every parameter with a
 * gradient is updated in a single launch (one per parameter dtype present). Per element, in f32 (the state is f32 whatever the
 * parameter's dtype): {@code p *= 1 - lr wd; m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g²;
 * p -= lr / (1 - beta1^t) · m / (sqrt(v) / sqrt(1 - beta2^t) + eps)}, t counted per parameter.
 *
 * <pre>{@code
 * try (AdamW opt = new AdamW(model.parameters(), AdamW.Options.defaults().lr(3e-4))) {
 *     for (...) { loss.backward(); opt.step(); opt.zeroGrad(); }
 * }
 * }</pre>
 */
public final class AdamW extends Optimizer {
    /**
     * AdamW's hyper-parameters; {@link #defaults()} are torch's.
     *
     * @param lr the learning rate, &gt;= 0 (torch: 1e-3)
     * @param beta1 the first moment's decay, in [0, 1) (0.9)
     * @param beta2 the second moment's decay, in [0, 1) (0.999)
     * @param eps added to the denominator, &gt;= 0 (1e-8)
     * @param weightDecay the decoupled weight decay, &gt;= 0 (1e-2)
     * @param masterWeights whether f16 / bf16 parameters get f32 master weights (off)
     * @param maxGradNorm the global gradient norm to clip to before each step, 0 for none (0)
     */
    public record Options(double lr, double beta1, double beta2, double eps, double weightDecay, boolean masterWeights,
                          double maxGradNorm) {
        /**
         * Torch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2; no master weights, no clipping.
         *
         * @return torch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2; no master weights, no clipping
         */
        public static Options defaults() {
            return new Options(1e-3, 0.9, 0.999, 1e-8, 1e-2, false, 0);
        }

        /**
         * These options with it.
         *
         * @param v the learning rate
         * @return these options with it
         */
        public Options lr(double v) {
            return new Options(v, beta1, beta2, eps, weightDecay, masterWeights, maxGradNorm);
        }

        /**
         * These options with them.
         *
         * @param b1 beta1
         * @param b2 beta2
         * @return these options with them
         */
        public Options betas(double b1, double b2) {
            return new Options(lr, b1, b2, eps, weightDecay, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v eps
         * @return these options with it
         */
        public Options eps(double v) {
            return new Options(lr, beta1, beta2, v, weightDecay, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v the weight decay
         * @return these options with it
         */
        public Options weightDecay(double v) {
            return new Options(lr, beta1, beta2, eps, v, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v whether 16-bit parameters get f32 master weights
         * @return these options with it
         */
        public Options masterWeights(boolean v) {
            return new Options(lr, beta1, beta2, eps, weightDecay, v, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v the global gradient norm to clip to, 0 for none
         * @return these options with it
         */
        public Options maxGradNorm(double v) {
            return new Options(lr, beta1, beta2, eps, weightDecay, masterWeights, v);
        }
    }

    private Options options;
    private final Map<Tensor, Tensor> expAvg = new IdentityHashMap<>();
    private final Map<Tensor, Tensor> expAvgSq = new IdentityHashMap<>();

    /**
     * AdamW with torch's defaults.
     *
     * @param params the parameters (floating, contiguous, one device)
     */
    public AdamW(List<Tensor> params) {
        this(params, Options.defaults());
    }

    /**
     * AdamW with the given options.
     *
     * @param params the parameters (floating, contiguous, one device)
     * @param options the hyper-parameters
     */
    public AdamW(List<Tensor> params, Options options) {
        super("AdamW", params, options != null && options.masterWeights(), options == null ? 0 : options.maxGradNorm());
        check(new Call("new AdamW"), options);
        this.options = options;
    }

    /** Checks options in the words of call c. */
    private static void check(Call c, Options options) {
        c.required("options", options, "AdamW options");
        if (!(options.lr() >= 0) || Double.isInfinite(options.lr()))
            throw c.invalid("lr", "expected a finite value >= 0, got " + options.lr());
        if (!(options.beta1() >= 0 && options.beta1() < 1))
            throw c.invalid("beta1", "expected a value in [0, 1), got " + options.beta1());
        if (!(options.beta2() >= 0 && options.beta2() < 1))
            throw c.invalid("beta2", "expected a value in [0, 1), got " + options.beta2());
        if (!(options.eps() >= 0) || Double.isInfinite(options.eps()))
            throw c.invalid("eps", "expected a finite value >= 0, got " + options.eps());
        if (!(options.weightDecay() >= 0) || Double.isInfinite(options.weightDecay()))
            throw c.invalid("weightDecay", "expected a finite value >= 0, got " + options.weightDecay());
    }

    /**
     * One fused AdamW step over state the caller keeps (torch.optim's functional {@code adamw}):
     * every params[i] is updated in place from grads[i], with its moment estimates expAvgs[i] and
     * expAvgSqs[i] (f32, params[i]'s shape) and its step count steps[i] (1 on its first step), in
     * ONE launch. Options' masterWeights and maxGradNorm do not apply here.
     *
     * @param params the parameters (f32, f16 or bf16, contiguous, one device)
     * @param grads their gradients (each its parameter's dtype and shape)
     * @param expAvgs the first moments, f32
     * @param expAvgSqs the second moments, f32
     * @param steps the step each parameter takes now, &gt;= 1
     * @param options the hyper-parameters
     */
    public static void fusedStep(List<Tensor> params, List<Tensor> grads, List<Tensor> expAvgs, List<Tensor> expAvgSqs,
                                 long[] steps, Options options) {
        Call c = new Call("AdamW.fusedStep");
        check(c, options);
        c.required("params", params, "a list of tensors");
        c.required("grads", grads, "a list of tensors");
        c.required("expAvgs", expAvgs, "a list of tensors");
        c.required("expAvgSqs", expAvgSqs, "a list of tensors");
        c.required("steps", steps, "step counts");
        int n = params.size();
        if (grads.size() != n || expAvgs.size() != n || expAvgSqs.size() != n || steps.length != n)
            throw c.invalid("grads", "expected " + n + " tensors in every list and " + n + " step counts (one per parameter)");
        if (n == 0) return;
        Optim.adamwStep(c, options.lr(), options.beta1(), options.beta2(), options.eps(), options.weightDecay(), params,
                grads, expAvgs, expAvgSqs, null, steps, null);
    }

    /**
     * The hyper-parameters.
     *
     * @return the hyper-parameters
     */
    public Options options() {
        return options;
    }

    /**
     * Replaces the hyper-parameters between steps, keeping the state (torch's edits of a param
     * group's {@code lr}, as learning-rate schedulers make them). Master weights and clipping stay
     * as constructed.
     *
     * @param options the new hyper-parameters, with the same masterWeights and maxGradNorm
     */
    public void options(Options options) {
        Call c = new Call("AdamW.options");
        check(c, options);
        checkFixed(c, options.masterWeights(), options.maxGradNorm());
        this.options = options;
    }

    /**
     * The first moment estimate of p ({@code exp_avg}), f32, or null before p's first step.
     *
     * @param p one of the parameters
     * @return its state tensor, owned by the optimizer
     */
    public Tensor expAvg(Tensor p) {
        return expAvg.get(p);
    }

    /**
     * The second moment estimate of p ({@code exp_avg_sq}), f32, or null before p's first step.
     *
     * @param p one of the parameters
     * @return its state tensor, owned by the optimizer
     */
    public Tensor expAvgSq(Tensor p) {
        return expAvgSq.get(p);
    }

    @Override
    void update(Call c, List<Tensor> params, List<Tensor> grads, List<Tensor> masters, long[] steps, Tensor gradScale) {
        List<Tensor> m = new ArrayList<>(params.size()), v = new ArrayList<>(params.size());
        for (Tensor p : params) {
            m.add(expAvg.computeIfAbsent(p, Optimizer::zeroState));
            v.add(expAvgSq.computeIfAbsent(p, Optimizer::zeroState));
        }
        Optim.adamwStep(c, options.lr(), options.beta1(), options.beta2(), options.eps(), options.weightDecay(), params,
                grads, m, v, masters, steps, gradScale);
    }

    @Override
    void closeState() {
        for (Tensor t : expAvg.values()) t.close();
        for (Tensor t : expAvgSq.values()) t.close();
        expAvg.clear();
        expAvgSq.clear();
    }
}
