package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.LinearGrads;

/**
 * torch.nn.Linear: x @ weight^T + bias, parameters "weight" [out_features, in_features] and "bias"
 * [out_features] (absent with bias = false); optionally with an activation fused into the product's
 * epilogue.
 */
public final class Linear extends Module {
    private final Act act;

    /**
     * A layer with a bias, f32 on the default device, initialized from the default generator.
     *
     * @param inFeatures the size of each input's last dim
     * @param outFeatures the size of each output's last dim
     */
    public Linear(long inFeatures, long outFeatures) {
        this(inFeatures, outFeatures, true, DType.F32, DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * A layer with torch's initialization: weight and bias U(-1/sqrt(in_features), 1/sqrt(in_features))
     * (the weight's kaiming_uniform_ with a = sqrt(5)), drawn weight first.
     *
     * @param inFeatures the size of each input's last dim
     * @param outFeatures the size of each output's last dim
     * @param bias whether to add a learned bias
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     * @param generator the random source of the initialization
     */
    public Linear(long inFeatures, long outFeatures, boolean bias, DType dtype, Device device, Generator generator) {
        long[] shape = {Init.size("new Linear", "outFeatures", outFeatures), Init.size("new Linear", "inFeatures", inFeatures)};
        double bound = Init.defaultBound(inFeatures);
        registerParameter("weight", Init.uniform("new Linear", shape, bound, dtype, device, generator));
        registerParameter("bias", bias ? Init.uniform("new Linear", new long[] {outFeatures}, bound, dtype, device, generator) : null);
        this.act = null;
    }

    /**
     * A layer over given parameters, which it adopts.
     *
     * @param weight [out_features, in_features]
     * @param bias [out_features], or null for none
     */
    public Linear(Tensor weight, Tensor bias) {
        this(weight, bias, null);
    }

    /**
     * act(x @ weight^T + bias) over given parameters, which it adopts.
     *
     * @param weight [out_features, in_features]
     * @param bias [out_features], or null for none
     * @param act the fused activation, or null for none
     */
    public Linear(Tensor weight, Tensor bias, Act act) {
        registerParameter("weight", Objects.requireNonNull(weight, "weight"));
        registerParameter("bias", bias);
        this.act = act;
    }

    /** @return the weight [out_features, in_features] */
    public Tensor weight() {
        return parameter("weight");
    }

    /** @return the bias [out_features], or null */
    public Tensor bias() {
        return parameter("bias");
    }

    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null);
    }

    /**
     * act(x @ weight^T + bias) + residual in one pass.
     *
     * @param input [..., in_features]
     * @param residual [..., out_features], or null for none
     * @return [..., out_features]
     */
    public Tensor forward(Tensor input, Tensor residual) {
        return F.linear(input, weight(), bias(), act, residual);
    }

    /**
     * Gradients through the fused activation, if any.
     *
     * @param input the forward's input
     * @param gradOutput the gradient of the output
     * @return the gradients of input, weight and bias (null without one)
     */
    public LinearGrads backward(Tensor input, Tensor gradOutput) {
        return F.linearBackward(input, weight(), bias(), act, gradOutput);
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + weight().shape(1) + ", out_features=" + weight().shape(0) + ", bias=" + (bias() != null)
                + (act == null ? "" : ", act=" + act);
    }
}
