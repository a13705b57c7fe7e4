package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;

/**
 * torch.nn.Conv2d over given parameters: weight [K, C/groups, R, S] (NCHW) or [K, R, S, C/groups]
 * (NHWC), optional bias [K]; the hyper-parameters (and any fused activation) in {@link Conv2dParams}.
 * The module does not own its tensors: the caller closes them.
 */
public final class Conv2d implements Module {
    private final Tensor weight;
    private final Tensor bias;
    private final Conv2dParams params;

    public Conv2d(Tensor weight, Tensor bias, Conv2dParams params) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = bias;
        this.params = Objects.requireNonNull(params, "params");
        if (weight.ndim() != 4)
            throw DeepKernException.invalidArgument("Conv2d", "weight", "expected a 4-D tensor, got " + weight.ndim() + "-D");
    }

    public Tensor weight() { return weight; }
    public Tensor bias() { return bias; }
    public Conv2dParams params() { return params; }

    /** Filters (output channels). */
    public long outChannels() { return weight.shape(0); }

    /** The kernel size (R, S). */
    public int[] kernel() {
        return params.nhwc() ? new int[] {(int) weight.shape(1), (int) weight.shape(2)}
                : new int[] {(int) weight.shape(2), (int) weight.shape(3)};
    }

    public int[] stride() { return new int[] {params.strideH(), params.strideW()}; }

    /** (top, bottom, left, right). */
    public int[] padding() { return new int[] {params.padTop(), params.padBottom(), params.padLeft(), params.padRight()}; }

    public int[] dilation() { return new int[] {params.dilationH(), params.dilationW()}; }

    @Override
    public Tensor forward(Tensor input) {
        return F.conv2d(input, weight, bias, params);
    }

    @Override
    public String toString() {
        int[] k = kernel();
        return "Conv2d(out=" + outChannels() + ", kernel=(" + k[0] + ", " + k[1] + "), " + params + ")";
    }
}
