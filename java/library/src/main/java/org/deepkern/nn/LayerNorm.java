package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;

/**
 * torch.nn.LayerNorm over the trailing dims normalizedShape (one dim: the last, of size features):
 * (x - mean) / sqrt(var + eps) * weight + bias, parameters "weight" and "bias" shaped
 * normalizedShape (absent without elementwise affine; bias also absent with bias = false).
 */
public final class LayerNorm extends Module {
    private final long[] normalizedShape;  // null: the last dim, whatever its size
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
        this(new long[] {Init.size("new LayerNorm", "features", features)}, eps, elementwiseAffine, bias, dtype, device);
    }

    /**
     * torch's LayerNorm(normalized_shape, ...): over the trailing dims of that shape; weight 1 and bias 0.
     *
     * @param normalizedShape the trailing dims normalized over, at least one
     * @param eps added to the variance
     * @param elementwiseAffine whether to have a weight and a bias at all
     * @param bias whether to have the bias (with elementwiseAffine)
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     */
    public LayerNorm(long[] normalizedShape, double eps, boolean elementwiseAffine, boolean bias, DType dtype, Device device) {
        this.normalizedShape = Init.normalizedShape("new LayerNorm", normalizedShape);
        registerParameter("weight", elementwiseAffine ? Init.constant(this.normalizedShape, 1, dtype, device) : null);
        registerParameter("bias", elementwiseAffine && bias ? Init.constant(this.normalizedShape, 0, dtype, device) : null);
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
        this.normalizedShape = weight != null ? weight.shape() : bias != null ? bias.shape() : null;
        registerParameter("weight", weight);
        registerParameter("bias", bias);
        this.eps = eps;
    }

    /** @return the weight (shaped normalizedShape), or null */
    public Tensor weight() {
        return parameter("weight");
    }

    /** @return the bias (shaped normalizedShape), or null */
    public Tensor bias() {
        return parameter("bias");
    }

    @Override
    public Tensor forward(Tensor input) {
        return normalizedShape == null ? F.layerNorm(input, weight(), bias(), eps)
                : F.layerNorm(input, normalizedShape, weight(), bias(), eps);
    }

    /**
     * @param input the forward's input
     * @param gradOutput the gradient of the output
     * @return the gradients of the input, weight and bias (null where the module has none)
     */
    public NormGrads backward(Tensor input, Tensor gradOutput) {
        return normalizedShape == null ? F.layerNormBackward(input, weight(), gradOutput, eps, bias() != null)
                : F.layerNormBackward(input, normalizedShape, weight(), gradOutput, eps, bias() != null);
    }

    @Override
    protected String extraRepr() {
        return (normalizedShape == null ? "" : Init.tuple(normalizedShape) + ", ") + "eps=" + eps
                + ", elementwise_affine=" + (weight() != null);
    }
}
