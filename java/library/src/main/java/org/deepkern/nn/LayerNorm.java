package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;

/**
 * torch.nn.LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias, parameters
 * "weight" and "bias" [features] (absent without elementwise affine; bias also absent with
 * bias = false).
 */
public final class LayerNorm extends Module {
    private final double eps;

    /**
     * torch's defaults: eps 1e-5, weight 1 and bias 0, f32 on the default device.
     *
     * @param features the size of the last dim (torch's normalized_shape, one dim)
     */
    public LayerNorm(long features) {
        this(features, 1e-5);
    }

    /**
     * @param features the size of the last dim
     * @param eps added to the variance
     */
    public LayerNorm(long features, double eps) {
        this(features, eps, DType.F32, DeepKern.defaultDevice());
    }

    /**
     * @param features the size of the last dim
     * @param eps added to the variance
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     */
    public LayerNorm(long features, double eps, DType dtype, Device device) {
        this(features, eps, true, true, dtype, device);
    }

    /**
     * torch's full form: weight 1 and bias 0.
     *
     * @param features the size of the last dim
     * @param eps added to the variance
     * @param elementwiseAffine whether to have a weight and a bias at all
     * @param bias whether to have the bias (with elementwiseAffine)
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     */
    public LayerNorm(long features, double eps, boolean elementwiseAffine, boolean bias, DType dtype, Device device) {
        long[] shape = {Init.size("new LayerNorm", "features", features)};
        registerParameter("weight", elementwiseAffine ? Init.constant(shape, 1, dtype, device) : null);
        registerParameter("bias", elementwiseAffine && bias ? Init.constant(shape, 0, dtype, device) : null);
        this.eps = eps;
    }

    /**
     * A norm over given parameters, which it adopts.
     *
     * @param weight [features], or null for none
     * @param bias [features], or null for none
     * @param eps added to the variance
     */
    public LayerNorm(Tensor weight, Tensor bias, double eps) {
        registerParameter("weight", weight);
        registerParameter("bias", bias);
        this.eps = eps;
    }

    /** @return the weight [features], or null */
    public Tensor weight() {
        return parameter("weight");
    }

    /** @return the bias [features], or null */
    public Tensor bias() {
        return parameter("bias");
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.layerNorm(input, weight(), bias(), eps);
    }

    /**
     * @param input the forward's input
     * @param gradOutput the gradient of the output
     * @return the gradients of the input, weight and bias (null where the module has none)
     */
    public NormGrads backward(Tensor input, Tensor gradOutput) {
        return F.layerNormBackward(input, weight(), gradOutput, eps, bias() != null);
    }

    @Override
    protected String extraRepr() {
        return (weight() == null ? "" : "(" + weight().shape(0) + ",), ") + "eps=" + eps + ", elementwise_affine=" + (weight() != null);
    }
}
