package org.deepkern.nn;

import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;

/**
 * torch.nn.Conv2d over given parameters: weight [K, C/groups, R, S] (NCHW) or [K, R, S, C/groups]
 * (NHWC), optional bias [K]; the hyper-parameters (and any fused activation) in {@link Conv2dParams}.
 */
public final class Conv2d extends ConvModule {
    public Conv2d(Tensor weight, Tensor bias, Conv2dParams params) {
        super("Conv2d", weight, bias, params);
    }

    @Override
    public long outChannels() { return weight.shape(0); }

    @Override
    public Tensor forward(Tensor input) {
        return F.conv2d(input, weight, bias, params);
    }
}
