package org.deepkern.nn;

import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;

/**
 * torch.nn.ConvTranspose2d over given parameters: weight [Cin, Cout/groups, R, S] (NCHW) or
 * [Cin, R, S, Cout/groups] (NHWC), optional bias [Cout]; output padding and the rest in
 * {@link Conv2dParams}.
 */
public final class ConvTranspose2d extends ConvModule {
    public ConvTranspose2d(Tensor weight, Tensor bias, Conv2dParams params) {
        super("ConvTranspose2d", weight, bias, params);
    }

    @Override
    public long outChannels() { return (params.nhwc() ? weight.shape(3) : weight.shape(1)) * params.groups(); }

    public int[] outputPadding() { return new int[] {params.outputPaddingH(), params.outputPaddingW()}; }

    @Override
    public Tensor forward(Tensor input) {
        return F.convTranspose2d(input, weight, bias, params);
    }
}
