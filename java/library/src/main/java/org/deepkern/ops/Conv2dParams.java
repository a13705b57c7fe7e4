package org.deepkern.ops;

import org.deepkern.DeepKernException;

/**
 * The hyper-parameters of a 2-D convolution, as torch.nn.functional.conv2d / conv_transpose2d
 * take them, plus the layout and a fused epilogue activation. Immutable; each {@code with...}
 * returns a copy. Defaults: NCHW, stride 1, no padding, dilation 1, one group, no activation.
 *
 * <p>Weight layouts: NCHW uses torch's [K, C/groups, R, S] ([Cin, Cout/groups, R, S] for the
 * transposed conv); NHWC uses [K, R, S, C/groups] ([Cin, R, S, Cout/groups]).
 *
 * <p>The {@code with...} methods store any value; the op that uses the parameters checks them and
 * throws a {@link DeepKernException} with {@link org.deepkern.Status#INVALID_ARGUMENT}: strides,
 * dilations and groups &gt;= 1 (groups dividing the input and output channels), paddings &gt;= 0,
 * output padding 0 except for the transposed conv, where each must be below the stride or the
 * dilation of its dim, and no activation for the gradients. Output size per spatial dim, as torch
 * (integer division): {@code P = (H + padTop + padBottom - dilationH (R - 1) - 1) / strideH + 1}.
 */
public final class Conv2dParams {
    /** Image layouts: NCHW (torch's default) and NHWC (channels last). */
    public enum Layout {
        /** x [N, C, H, W], out [N, K, P, Q]: torch's default. */
        NCHW,
        /** x [N, H, W, C], out [N, P, Q, K]: channels last, which the tensor-core kernels need. */
        NHWC
    }

    private Layout layout = Layout.NCHW;
    private int strideH = 1, strideW = 1;
    private int padTop, padBottom, padLeft, padRight;
    private int dilationH = 1, dilationW = 1;
    private int groups = 1;
    private int outputPaddingH, outputPaddingW;
    private Act activation;

    /** The defaults: NCHW, stride 1, no padding, dilation 1, one group, no activation. */
    public Conv2dParams() {}

    /** @return a new instance with the defaults, as {@link #Conv2dParams()} */
    public static Conv2dParams defaults() {
        return new Conv2dParams();
    }

    private Conv2dParams copy() {
        Conv2dParams c = new Conv2dParams();
        c.layout = layout;
        c.strideH = strideH;
        c.strideW = strideW;
        c.padTop = padTop;
        c.padBottom = padBottom;
        c.padLeft = padLeft;
        c.padRight = padRight;
        c.dilationH = dilationH;
        c.dilationW = dilationW;
        c.groups = groups;
        c.outputPaddingH = outputPaddingH;
        c.outputPaddingW = outputPaddingW;
        c.activation = activation;
        return c;
    }

    /**
     * @param layout NCHW or NHWC
     * @return a copy with this layout
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if layout is null
     */
    public Conv2dParams withLayout(Layout layout) {
        Conv2dParams c = copy();
        if (layout == null)
            throw DeepKernException.invalidArgument("Conv2dParams.withLayout", "layout", "expected NCHW or NHWC, got null");
        c.layout = layout;
        return c;
    }

    /**
     * @param s the stride of both spatial dims, &gt;= 1 (torch's {@code stride=s})
     * @return a copy with this stride
     */
    public Conv2dParams withStride(int s) {
        return withStride(s, s);
    }

    /**
     * @param h the stride along H, &gt;= 1
     * @param w the stride along W, &gt;= 1
     * @return a copy with these strides (torch's {@code stride=(h, w)})
     */
    public Conv2dParams withStride(int h, int w) {
        Conv2dParams c = copy();
        c.strideH = h;
        c.strideW = w;
        return c;
    }

    /**
     * The same zero padding on all four sides (torch's {@code padding=p}).
     *
     * @param p rows / columns added on each side, &gt;= 0
     * @return a copy with this padding
     */
    public Conv2dParams withPadding(int p) {
        return withPadding(p, p, p, p);
    }

    /**
     * torch's {@code padding=(h, w)}: h rows top and bottom, w columns left and right.
     *
     * @param h rows added above and below, &gt;= 0
     * @param w columns added left and right, &gt;= 0
     * @return a copy with this padding
     */
    public Conv2dParams withPadding(int h, int w) {
        return withPadding(h, h, w, w);
    }

    /**
     * Zero padding that may differ per side (as {@code F.pad} before an unpadded torch conv;
     * for the transposed conv, what it removes from each side of the output).
     *
     * @param top rows above, &gt;= 0
     * @param bottom rows below, &gt;= 0
     * @param left columns on the left, &gt;= 0
     * @param right columns on the right, &gt;= 0
     * @return a copy with this padding
     */
    public Conv2dParams withPadding(int top, int bottom, int left, int right) {
        Conv2dParams c = copy();
        c.padTop = top;
        c.padBottom = bottom;
        c.padLeft = left;
        c.padRight = right;
        return c;
    }

    /**
     * @param d the spacing of filter taps along both dims, &gt;= 1 (torch's {@code dilation=d})
     * @return a copy with this dilation
     */
    public Conv2dParams withDilation(int d) {
        return withDilation(d, d);
    }

    /**
     * @param h the dilation along H, &gt;= 1
     * @param w the dilation along W, &gt;= 1
     * @return a copy with these dilations (torch's {@code dilation=(h, w)})
     */
    public Conv2dParams withDilation(int h, int w) {
        Conv2dParams c = copy();
        c.dilationH = h;
        c.dilationW = w;
        return c;
    }

    /**
     * Grouped convolution (torch's {@code groups}): channels split into g groups, each convolved
     * with its own filters; g = C = K is a depthwise convolution.
     *
     * @param g the number of groups, &gt;= 1, dividing the input and output channels
     * @return a copy with this many groups
     */
    public Conv2dParams withGroups(int g) {
        Conv2dParams c = copy();
        c.groups = g;
        return c;
    }

    /**
     * For the transposed convolution only (torch's {@code output_padding}): extra rows / columns
     * at the bottom / right of the output. Must stay 0 for the plain convolution.
     *
     * @param h extra rows, &gt;= 0 and below strideH or dilationH
     * @param w extra columns, &gt;= 0 and below strideW or dilationW
     * @return a copy with this output padding
     */
    public Conv2dParams withOutputPadding(int h, int w) {
        Conv2dParams c = copy();
        c.outputPaddingH = h;
        c.outputPaddingW = w;
        return c;
    }

    /**
     * The fused epilogue activation: out = act(conv + bias) + residual, in one kernel. The
     * gradient ops need none.
     *
     * @param act the activation, or null for none
     * @return a copy with this activation
     */
    public Conv2dParams withActivation(Act act) {
        Conv2dParams c = copy();
        c.activation = act;
        return c;
    }

    /** @return the image layout (default NCHW) */
    public Layout layout() { return layout; }
    /** @return the stride along H (default 1) */
    public int strideH() { return strideH; }
    /** @return the stride along W (default 1) */
    public int strideW() { return strideW; }
    /** @return the rows of zero padding above (default 0) */
    public int padTop() { return padTop; }
    /** @return the rows of zero padding below (default 0) */
    public int padBottom() { return padBottom; }
    /** @return the columns of zero padding on the left (default 0) */
    public int padLeft() { return padLeft; }
    /** @return the columns of zero padding on the right (default 0) */
    public int padRight() { return padRight; }
    /** @return the dilation along H (default 1) */
    public int dilationH() { return dilationH; }
    /** @return the dilation along W (default 1) */
    public int dilationW() { return dilationW; }
    /** @return the number of groups (default 1) */
    public int groups() { return groups; }
    /** @return the transposed conv's extra output rows (default 0) */
    public int outputPaddingH() { return outputPaddingH; }
    /** @return the transposed conv's extra output columns (default 0) */
    public int outputPaddingW() { return outputPaddingW; }
    /** @return the fused epilogue activation, or null for none (the default) */
    public Act activation() { return activation; }
    /** @return whether the layout is NHWC */
    public boolean nhwc() { return layout == Layout.NHWC; }

    /** @return the layout and every parameter, torch-style ({@code NCHW stride=(1, 1) padding=...}) */
    @Override
    public String toString() {
        return layout + " stride=(" + strideH + ", " + strideW + ") padding=(" + padTop + ", " + padBottom + ", "
                + padLeft + ", " + padRight + ") dilation=(" + dilationH + ", " + dilationW + ") groups=" + groups
                + (outputPaddingH != 0 || outputPaddingW != 0
                        ? " output_padding=(" + outputPaddingH + ", " + outputPaddingW + ")" : "")
                + (activation != null ? " act=" + activation : "");
    }
}
