package org.deepkern.nn;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;

/**
 * torch.nn.ConvTranspose2d: weight [Cin, Cout/groups, R, S] (NCHW) or [Cin, R, S, Cout/groups]
 * (NHWC), bias [Cout]; output padding and the rest in {@link Conv2dParams}.
 */
public final class ConvTranspose2d extends ConvModule {
    /**
     * A square kernel with stride 1, no padding and a bias, NCHW, f32 on the default device,
     * initialized from the default generator.
     *
     * @param inChannels the input's channels
     * @param outChannels the output's channels
     * @param kernelSize the kernel's height and width
     */
    public ConvTranspose2d(long inChannels, long outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, kernelSize, Conv2dParams.defaults(), true, DType.F32,
                DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * A transposed convolution with torch's initialization (see {@link ConvModule}).
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
    public ConvTranspose2d(long inChannels, long outChannels, int kernelH, int kernelW, Conv2dParams params, boolean bias,
                           DType dtype, Device device, Generator generator) {
        super("ConvTranspose2d", true, inChannels, outChannels, kernelH, kernelW, params, bias, dtype, device, generator);
    }

    /**
     * A transposed convolution over given parameters, which it adopts.
     *
     * @param weight [Cin, Cout/groups, R, S] (NCHW) or [Cin, R, S, Cout/groups] (NHWC)
     * @param bias [Cout], or null for none
     * @param params the hyper-parameters
     */
    public ConvTranspose2d(Tensor weight, Tensor bias, Conv2dParams params) {
        super("ConvTranspose2d", weight, bias, params);
    }

    @Override
    public long outChannels() { return (params.nhwc() ? weight().shape(3) : weight().shape(1)) * params.groups(); }

    /** @return the output padding (h, w) */
    public int[] outputPadding() { return new int[] {params.outputPaddingH(), params.outputPaddingW()}; }

    @Override
    public Tensor forward(Tensor input) {
        return F.convTranspose2d(input, weight(), bias(), params);
    }
}
