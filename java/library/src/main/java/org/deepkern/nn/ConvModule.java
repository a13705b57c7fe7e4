package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams;

/**
 * What Conv2d and ConvTranspose2d share: a 4-D weight, an optional bias, the hyper-parameters, and
 * the geometry the receptive-field calculator reads (kernel, stride, padding, dilation). The
 * module does not own its tensors: the caller closes them.
 */
public abstract class ConvModule implements Module {
    protected final Tensor weight;
    protected final Tensor bias;
    protected final Conv2dParams params;

    protected ConvModule(String name, Tensor weight, Tensor bias, Conv2dParams params) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = bias;
        this.params = Objects.requireNonNull(params, "params");
        if (weight.ndim() != 4)
            throw DeepKernException.invalidArgument("new " + name, "weight", "expected a 4-D tensor, got " + weight.ndim() + "-D");
    }

    public Tensor weight() { return weight; }
    public Tensor bias() { return bias; }
    public Conv2dParams params() { return params; }

    /** Output channels. */
    public abstract long outChannels();

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
    public String toString() {
        int[] k = kernel();
        return getClass().getSimpleName() + "(out=" + outChannels() + ", kernel=(" + k[0] + ", " + k[1] + "), " + params + ")";
    }
}
