package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.NormGrads;

/**
 * torch.nn.LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias. The module
 * holds its parameters (null weight and bias: elementwise_affine=False) but does not own them.
 */
public final class LayerNorm implements Module {
    private final Tensor weight, bias;
    private final double eps;

    public LayerNorm(Tensor weight, Tensor bias, double eps) {
        this.weight = weight;
        this.bias = bias;
        this.eps = eps;
    }

    /** torch's initialization: weight 1, bias 0, of the given features on the device. */
    public static LayerNorm of(long features, DType dtype, Device device, double eps) {
        return new LayerNorm(Tensor.full(new long[] {features}, 1.0, dtype, device), Tensor.zeros(new long[] {features}, dtype, device), eps);
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.layerNorm(input, weight, bias, eps);
    }

    /** Gradients of the input, weight and bias (null where the module has none). */
    public NormGrads backward(Tensor input, Tensor gradOutput) {
        return F.layerNormBackward(input, weight, gradOutput, eps, bias != null);
    }

    @Override
    public String toString() {
        return "LayerNorm(eps=" + eps + ", affine=" + (weight != null) + ")";
    }
}
