package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;

/** torch.nn.RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) * weight (weight may be null). */
public final class RMSNorm implements Module {
    private final Tensor weight;
    private final double eps;

    public RMSNorm(Tensor weight, double eps) {
        this.weight = weight;
        this.eps = eps;
    }

    /** torch's initialization: weight 1. */
    public static RMSNorm of(long features, DType dtype, Device device, double eps) {
        return new RMSNorm(Tensor.full(new long[] {features}, 1.0, dtype, device), eps);
    }

    public Tensor weight() {
        return weight;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.rmsNorm(input, weight, eps);
    }

    /** Gradients of the input and the weight (null without one). */
    public NormGrads backward(Tensor input, Tensor gradOutput) {
        return F.rmsNormBackward(input, weight, gradOutput, eps);
    }

    @Override
    public String toString() {
        return "RMSNorm(eps=" + eps + ", affine=" + (weight != null) + ")";
    }
}
