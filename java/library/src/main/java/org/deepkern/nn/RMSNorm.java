package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;

/**
 * torch.nn.RMSNorm over the trailing dims normalizedShape (one dim: the last, of size features):
 * x / sqrt(mean(x^2) + eps) * weight, parameter "weight" shaped normalizedShape (absent without
 * elementwise affine). As in torch, eps left out is
 * {@link F#RMS_NORM_EPS} (the f32 epsilon rms_norm computes with, whatever the input's dtype);
 * LLaMA-style models pass theirs (often 1e-5 or 1e-6).
 */
public final class RMSNorm extends Module {
    private final long[] normalizedShape;  // null: the last dim, whatever its size
    private final Double eps;  // null: torch's eps=None, F.RMS_NORM_EPS

    /**
     * torch's defaults: eps {@link F#RMS_NORM_EPS}, weight 1, f32 on the default device.
     *
     * @param features the size of the last dim (torch's normalized_shape, one dim)
     */
    public RMSNorm(long features) {
        this(features, null, true, DType.F32, DeepKern.defaultDevice());
    }

    /**
     * @param features the size of the last dim
     * @param eps added to the mean square
     */
    public RMSNorm(long features, double eps) {
        this(features, eps, DType.F32, DeepKern.defaultDevice());
    }

    /**
     * @param features the size of the last dim
     * @param eps added to the mean square
     * @param dtype the weight's dtype
     * @param device where the weight lives
     */
    public RMSNorm(long features, double eps, DType dtype, Device device) {
        this(features, (Double) eps, true, dtype, device);
    }

    /**
     * torch's full form: weight 1.
     *
     * @param features the size of the last dim
     * @param eps added to the mean square, or null for {@link F#RMS_NORM_EPS} (torch's None)
     * @param elementwiseAffine whether to have a weight
     * @param dtype the weight's dtype
     * @param device where the weight lives
     */
    public RMSNorm(long features, Double eps, boolean elementwiseAffine, DType dtype, Device device) {
        this(new long[] {Init.size("new RMSNorm", "features", features)}, eps, elementwiseAffine, dtype, device);
    }

    /**
     * torch's RMSNorm(normalized_shape, ...): over the trailing dims of that shape; weight 1.
     *
     * @param normalizedShape the trailing dims normalized over, at least one
     * @param eps added to the mean square, or null for {@link F#RMS_NORM_EPS} (torch's None)
     * @param elementwiseAffine whether to have a weight
     * @param dtype the weight's dtype
     * @param device where the weight lives
     */
    public RMSNorm(long[] normalizedShape, Double eps, boolean elementwiseAffine, DType dtype, Device device) {
        this.normalizedShape = Init.normalizedShape("new RMSNorm", normalizedShape);
        registerParameter("weight", elementwiseAffine ? Init.constant(this.normalizedShape, 1, dtype, device) : null);
        this.eps = eps;
    }

    /**
     * A norm over a given weight, which it adopts.
     *
     * @param weight [features], or null for none
     * @param eps added to the mean square
     */
    public RMSNorm(Tensor weight, double eps) {
        this.normalizedShape = weight == null ? null : weight.shape();
        registerParameter("weight", weight);
        this.eps = eps;
    }

    /** @return the weight (shaped normalizedShape), or null */
    public Tensor weight() {
        return parameter("weight");
    }

    @Override
    public Tensor forward(Tensor input) {
        return normalizedShape == null ? F.rmsNorm(input, weight(), eps())
                : F.rmsNorm(input, normalizedShape, weight(), eps());
    }

    /**
     * @param input the forward's input
     * @param gradOutput the gradient of the output
     * @return the gradients of the input and the weight (null without one)
     */
    public NormGrads backward(Tensor input, Tensor gradOutput) {
        return normalizedShape == null ? F.rmsNormBackward(input, weight(), gradOutput, eps())
                : F.rmsNormBackward(input, normalizedShape, weight(), gradOutput, eps());
    }

    private double eps() {
        return eps != null ? eps : F.RMS_NORM_EPS;
    }

    @Override
    protected String extraRepr() {
        return (normalizedShape == null ? "" : Init.tuple(normalizedShape) + ", ") + "eps=" + (eps == null ? "None" : eps)
                + ", elementwise_affine=" + (weight() != null);
    }
}
