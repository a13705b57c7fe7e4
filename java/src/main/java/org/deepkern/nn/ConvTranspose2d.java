package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;

/**
 * torch.nn.ConvTranspose2d over given parameters: weight [Cin, Cout/groups, R, S] (NCHW) or
 * [Cin, R, S, Cout/groups] (NHWC), optional bias [Cout]; output padding and the rest in
 * {@link Conv2dParams}. The module does not own its tensors: the caller closes them.
 */
public final class ConvTranspose2d implements Module {
    private final Tensor weight;
    private final Tensor bias;
    private final Conv2dParams params;

    public ConvTranspose2d(Tensor weight, Tensor bias, Conv2dParams params) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = bias;
        this.params = Objects.requireNonNull(params, "params");
        if (weight.ndim() != 4)
            throw DeepKernException.invalidArgument("ConvTranspose2d", "weight", "expected a 4-D tensor, got " + weight.ndim() + "-D");
    }

    public Tensor weight() { return weight; }
    public Tensor bias() { return bias; }
    public Conv2dParams params() { return params; }

    /** Output channels: Cout/groups times groups. */
    public long outChannels() { return (params.nhwc() ? weight.shape(3) : weight.shape(1)) * params.groups(); }

    /** The kernel size (R, S). */
    public int[] kernel() {
        return params.nhwc() ? new int[] {(int) weight.shape(1), (int) weight.shape(2)}
                : new int[] {(int) weight.shape(2), (int) weight.shape(3)};
    }

    public int[] stride() { return new int[] {params.strideH(), params.strideW()}; }

    /** (top, bottom, left, right). */
    public int[] padding() { return new int[] {params.padTop(), params.padBottom(), params.padLeft(), params.padRight()}; }

    public int[] dilation() { return new int[] {params.dilationH(), params.dilationW()}; }

    public int[] outputPadding() { return new int[] {params.outputPaddingH(), params.outputPaddingW()}; }

    @Override
    public Tensor forward(Tensor input) {
        return F.convTranspose2d(input, weight, bias, params);
    }

    @Override
    public String toString() {
        int[] k = kernel();
        return "ConvTranspose2d(out=" + outChannels() + ", kernel=(" + k[0] + ", " + k[1] + "), " + params + ")";
    }
}
