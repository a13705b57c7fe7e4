package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;

/**
 * What Conv2d and ConvTranspose2d share: parameters "weight" (4-D) and "bias" [out channels]
 * (absent with bias = false), the hyper-parameters, and the geometry the receptive-field
 * calculator reads (kernel, stride, padding, dilation).
 */
public abstract class ConvModule extends Module {
    /** The hyper-parameters, layout and fused activation. */
    protected final Conv2dParams params;

    /**
     * A convolution over given parameters, which it adopts.
     *
     * @param name the module's name, for messages
     * @param weight the 4-D weight in the layout of params
     * @param bias [out channels], or null for none
     * @param params the hyper-parameters
     */
    protected ConvModule(String name, Tensor weight, Tensor bias, Conv2dParams params) {
        Objects.requireNonNull(weight, "weight");
        this.params = Objects.requireNonNull(params, "params");
        if (weight.ndim() != 4)
            throw DeepKernException.invalidArgument("new " + name, "weight", "expected a 4-D tensor, got " + weight.ndim() + "-D");
        registerParameter("weight", weight);
        registerParameter("bias", bias);
    }

    /**
     * A convolution with torch's initialization: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
     * fan_in being the weight's elements per slice of dim 0 (torch's reckoning, for the transposed
     * convolution too), drawn weight first.
     *
     * @param name the module's name, for messages
     * @param transposed whether the weight leads with the input channels (ConvTranspose2d)
     * @param inChannels the input's channels
     * @param outChannels the output's channels
     * @param kernelH the kernel's height
     * @param kernelW the kernel's width
     * @param params the hyper-parameters (layout and groups shape the weight)
     * @param bias whether to add a learned bias
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     * @param generator the random source of the initialization
     */
    protected ConvModule(String name, boolean transposed, long inChannels, long outChannels, int kernelH, int kernelW,
                         Conv2dParams params, boolean bias, DType dtype, Device device, Generator generator) {
        this.params = Objects.requireNonNull(params, "params");
        String op = "new " + name;
        Init.size(op, "inChannels", inChannels);
        Init.size(op, "outChannels", outChannels);
        if (kernelH <= 0 || kernelW <= 0) throw DeepKernException.invalidArgument(op, "kernelSize",
                "expected positive extents, got (" + kernelH + ", " + kernelW + ")");
        int g = params.groups();
        if (inChannels % g != 0 || outChannels % g != 0) throw DeepKernException.invalidArgument(op, "groups",
                "expected a divisor of inChannels (" + inChannels + ") and outChannels (" + outChannels + "), got " + g);
        long lead = transposed ? inChannels : outChannels, grouped = (transposed ? outChannels : inChannels) / g;
        long[] shape = params.nhwc() ? new long[] {lead, kernelH, kernelW, grouped} : new long[] {lead, grouped, kernelH, kernelW};
        double bound = Init.defaultBound(Init.fanIn(shape));
        registerParameter("weight", Init.uniform(op, shape, bound, dtype, device, generator));
        registerParameter("bias", bias ? Init.uniform(op, new long[] {outChannels}, bound, dtype, device, generator) : null);
    }

    /** @return the 4-D weight */
    public Tensor weight() { return parameter("weight"); }

    /** @return the bias [out channels], or null */
    public Tensor bias() { return parameter("bias"); }

    /** @return the hyper-parameters */
    public Conv2dParams params() { return params; }

    /** @return the output's channels */
    public abstract long outChannels();

    /** @return the kernel size (R, S) */
    public int[] kernel() {
        Tensor w = weight();
        return params.nhwc() ? new int[] {(int) w.shape(1), (int) w.shape(2)} : new int[] {(int) w.shape(2), (int) w.shape(3)};
    }

    /** @return the stride (h, w) */
    public int[] stride() { return new int[] {params.strideH(), params.strideW()}; }

    /** @return the padding (top, bottom, left, right) */
    public int[] padding() { return new int[] {params.padTop(), params.padBottom(), params.padLeft(), params.padRight()}; }

    /** @return the dilation (h, w) */
    public int[] dilation() { return new int[] {params.dilationH(), params.dilationW()}; }

    @Override
    protected String extraRepr() {
        int[] k = kernel();
        return "out=" + outChannels() + ", kernel=(" + k[0] + ", " + k[1] + "), bias=" + (bias() != null) + ", " + params;
    }
}
