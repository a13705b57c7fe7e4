package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;

/**
 * torch.nn.Conv2d: weight [K, C/groups, R, S] (NCHW) or [K, R, S, C/groups] (NHWC), bias [K];
 * the hyper-parameters (and any fused activation) in {@link Conv2dParams}.
 */
public final class Conv2d extends ConvModule {
    /**
     * A square kernel with stride 1, no padding and a bias, NCHW, f32 on the default device,
     * initialized from the default generator.
     *
     * @param inChannels the input's channels
     * @param outChannels the output's channels
     * @param kernelSize the kernel's height and width
     */
    public Conv2d(long inChannels, long outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, kernelSize, Conv2dParams.defaults(), true, DType.F32,
                DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * A convolution with torch's initialization (see {@link ConvModule}).
     *
     * @param inChannels the input's channels
     * @param outChannels the output's channels
     * @param kernelH the kernel's height
     * @param kernelW the kernel's width
     * @param params the hyper-parameters
     * @param bias whether to add a learned bias
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     * @param generator the random source of the initialization
     */
    public Conv2d(long inChannels, long outChannels, int kernelH, int kernelW, Conv2dParams params, boolean bias,
                  DType dtype, Device device, Generator generator) {
        super("Conv2d", false, inChannels, outChannels, kernelH, kernelW, params, bias, dtype, device, generator);
    }

    /**
     * A convolution over given parameters, which it adopts.
     *
     * @param weight [K, C/groups, R, S] (NCHW) or [K, R, S, C/groups] (NHWC)
     * @param bias [K], or null for none
     * @param params the hyper-parameters
     */
    public Conv2d(Tensor weight, Tensor bias, Conv2dParams params) {
        super("Conv2d", weight, bias, params);
    }

    @Override
    public long outChannels() { return weight().shape(0); }

    @Override
    public Tensor forward(Tensor input) {
        return F.conv2d(input, weight(), bias(), params);
    }
}
