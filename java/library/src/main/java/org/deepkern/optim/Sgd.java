package org.deepkern.optim;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Optim;

/**
 * Stochastic gradient descent with momentum (torch.optim.SGD, maximize off) as one fused
 * multi-tensor kernel. Per element, in f32: {@code g += wd p}; with momentum,
 * {@code buf = g} on a parameter's first step, else {@code buf = momentum buf + (1 - dampening) g},
 * then {@code g = nesterov ? g + momentum buf : buf}; {@code p -= lr g}.
 */
public final class Sgd extends Optimizer {
    /**
     * SGD's hyper-parameters; {@link #defaults()} are torch's.
     *
     * @param lr the learning rate, &gt;= 0 (torch: 1e-3)
     * @param momentum the momentum factor, &gt;= 0 (0)
     * @param dampening the dampening of the momentum (0)
     * @param weightDecay the L2 penalty added to the gradient, &gt;= 0 (0)
     * @param nesterov Nesterov momentum; needs momentum &gt; 0 and dampening 0 (off)
     * @param masterWeights whether f16 / bf16 parameters get f32 master weights (off)
     * @param maxGradNorm the global gradient norm to clip to before each step, 0 for none (0)
     */
    public record Options(double lr, double momentum, double dampening, double weightDecay, boolean nesterov,
                          boolean masterWeights, double maxGradNorm) {
        /**
         * Torch's defaults: lr 1e-3, no momentum, dampening or weight decay.
         *
         * @return torch's defaults: lr 1e-3, no momentum, dampening or weight decay
         */
        public static Options defaults() {
            return new Options(1e-3, 0, 0, 0, false, false, 0);
        }

        /**
         * These options with it.
         *
         * @param v the learning rate
         * @return these options with it
         */
        public Options lr(double v) {
            return new Options(v, momentum, dampening, weightDecay, nesterov, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v the momentum factor
         * @return these options with it
         */
        public Options momentum(double v) {
            return new Options(lr, v, dampening, weightDecay, nesterov, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v the dampening
         * @return these options with it
         */
        public Options dampening(double v) {
            return new Options(lr, momentum, v, weightDecay, nesterov, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v the weight decay
         * @return these options with it
         */
        public Options weightDecay(double v) {
            return new Options(lr, momentum, dampening, v, nesterov, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v whether to use Nesterov momentum
         * @return these options with it
         */
        public Options nesterov(boolean v) {
            return new Options(lr, momentum, dampening, weightDecay, v, masterWeights, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v whether 16-bit parameters get f32 master weights
         * @return these options with it
         */
        public Options masterWeights(boolean v) {
            return new Options(lr, momentum, dampening, weightDecay, nesterov, v, maxGradNorm);
        }

        /**
         * These options with it.
         *
         * @param v the global gradient norm to clip to, 0 for none
         * @return these options with it
         */
        public Options maxGradNorm(double v) {
            return new Options(lr, momentum, dampening, weightDecay, nesterov, masterWeights, v);
        }
    }

    private Options options;
    private final Map<Tensor, Tensor> buffers = new IdentityHashMap<>();

    /**
     * SGD with the given options.
     *
     * @param params the parameters (floating, contiguous, one device)
     * @param options the hyper-parameters
     */
    public Sgd(List<Tensor> params, Options options) {
        super("Sgd", params, options != null && options.masterWeights(), options == null ? 0 : options.maxGradNorm());
        check(new Call("new Sgd"), options);
        this.options = options;
    }

    /** Checks options in the words of call c. */
    private static void check(Call c, Options options) {
        c.required("options", options, "SGD options");
        if (!(options.lr() >= 0) || Double.isInfinite(options.lr()))
            throw c.invalid("lr", "expected a finite value >= 0, got " + options.lr());
        if (!(options.momentum() >= 0) || Double.isInfinite(options.momentum()))
            throw c.invalid("momentum", "expected a finite value >= 0, got " + options.momentum());
        c.finite("dampening", options.dampening());
        if (!(options.weightDecay() >= 0) || Double.isInfinite(options.weightDecay()))
            throw c.invalid("weightDecay", "expected a finite value >= 0, got " + options.weightDecay());
        if (options.nesterov() && (options.momentum() <= 0 || options.dampening() != 0))
            throw c.invalid("nesterov", "Nesterov momentum needs momentum > 0 and dampening 0");
    }

    /**
     * Replaces the hyper-parameters between steps, keeping the momentum buffers (torch's edits of a
     * param group's {@code lr}, as learning-rate schedulers make them). Master weights and clipping
     * stay as constructed.
     *
     * @param options the new hyper-parameters, with the same masterWeights and maxGradNorm
     */
    public void options(Options options) {
        Call c = new Call("Sgd.options");
        check(c, options);
        checkFixed(c, options.masterWeights(), options.maxGradNorm());
        this.options = options;
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
     * The momentum buffer of p, f32, or null (no momentum, or before p's first step).
     *
     * @param p one of the parameters
     * @return its buffer, owned by the optimizer
     */
    public Tensor momentumBuffer(Tensor p) {
        return buffers.get(p);
    }

    @Override
    void update(Call c, List<Tensor> params, List<Tensor> grads, List<Tensor> masters, long[] steps, Tensor gradScale) {
        List<Tensor> b = null;
        if (options.momentum() != 0) {
            b = new ArrayList<>(params.size());
            for (Tensor p : params) b.add(buffers.computeIfAbsent(p, Optimizer::zeroState));
        }
        Optim.sgdStep(c, options.lr(), options.momentum(), options.dampening(), options.weightDecay(),
                options.nesterov(), params, grads, b, masters, steps, gradScale);
    }

    @Override
    void closeState() {
        for (Tensor t : buffers.values()) t.close();
        buffers.clear();
    }
}
