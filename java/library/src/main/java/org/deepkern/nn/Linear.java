package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.LinearGrads;

/**
 * torch.nn.Linear: x @ weight^T + bias, weight [out_features, in_features], bias [out_features] or
 * null; optionally with an activation fused into the product's epilogue. Holds, does not own, its
 * parameters.
 */
public final class Linear implements Module {
    private final Tensor weight, bias;
    private final Act act;

    public Linear(Tensor weight, Tensor bias) {
        this(weight, bias, null);
    }

    /** act(x @ weight^T + bias); act null for none. */
    public Linear(Tensor weight, Tensor bias, Act act) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = bias;
        this.act = act;
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null);
    }

    /** act(x @ weight^T + bias) + residual in one pass (residual null: none). */
    public Tensor forward(Tensor input, Tensor residual) {
        return F.linear(input, weight, bias, act, residual);
    }

    /** Gradients of input, weight and bias (null without one), through the fused activation if any. */
    public LinearGrads backward(Tensor input, Tensor gradOutput) {
        return F.linearBackward(input, weight, bias, act, gradOutput);
    }

    @Override
    public String toString() {
        return "Linear(" + weight.shape(1) + " -> " + weight.shape(0) + (bias == null ? ", no bias" : "")
                + (act == null ? "" : ", " + act) + ")";
    }
}
