package org.deepkern.ops;

import org.deepkern.DeepKernException;

/**
 * The hyper-parameters of a 2-D convolution, as torch.nn.functional.conv2d / conv_transpose2d
 * take them, plus the layout and a fused epilogue activation. Immutable; each {@code with...}
 * returns a copy. Defaults: NCHW, stride 1, no padding, dilation 1, one group, no activation.
 *
 * <p>Weight layouts: NCHW uses torch's [K, C/groups, R, S] ([Cin, Cout/groups, R, S] for the
 * transposed conv); NHWC uses [K, R, S, C/groups] ([Cin, R, S, Cout/groups]).
 */
public final class Conv2dParams {
    /** Image layouts: NCHW (torch's default) and NHWC (channels last). */
    public enum Layout {
        NCHW, NHWC
    }

    private Layout layout = Layout.NCHW;
    private int strideH = 1, strideW = 1;
    private int padTop, padBottom, padLeft, padRight;
    private int dilationH = 1, dilationW = 1;
    private int groups = 1;
    private int outputPaddingH, outputPaddingW;
    private Act activation;

    public Conv2dParams() {}

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

    public Conv2dParams withLayout(Layout layout) {
        Conv2dParams c = copy();
        if (layout == null)
            throw DeepKernException.invalidArgument("Conv2dParams.withLayout", "layout", "expected NCHW or NHWC, got null");
        c.layout = layout;
        return c;
    }

    public Conv2dParams withStride(int s) {
        return withStride(s, s);
    }

    public Conv2dParams withStride(int h, int w) {
        Conv2dParams c = copy();
        c.strideH = h;
        c.strideW = w;
        return c;
    }

    /** The same padding on all four sides. */
    public Conv2dParams withPadding(int p) {
        return withPadding(p, p, p, p);
    }

    /** torch's (padH, padW): padH rows top and bottom, padW columns left and right. */
    public Conv2dParams withPadding(int h, int w) {
        return withPadding(h, h, w, w);
    }

    public Conv2dParams withPadding(int top, int bottom, int left, int right) {
        Conv2dParams c = copy();
        c.padTop = top;
        c.padBottom = bottom;
        c.padLeft = left;
        c.padRight = right;
        return c;
    }

    public Conv2dParams withDilation(int d) {
        return withDilation(d, d);
    }

    public Conv2dParams withDilation(int h, int w) {
        Conv2dParams c = copy();
        c.dilationH = h;
        c.dilationW = w;
        return c;
    }

    public Conv2dParams withGroups(int g) {
        Conv2dParams c = copy();
        c.groups = g;
        return c;
    }

    /** For the transposed convolution only: extra rows / columns at the bottom / right of the output. */
    public Conv2dParams withOutputPadding(int h, int w) {
        Conv2dParams c = copy();
        c.outputPaddingH = h;
        c.outputPaddingW = w;
        return c;
    }

    /** The fused epilogue activation (null for none): out = act(conv + bias) + residual. */
    public Conv2dParams withActivation(Act act) {
        Conv2dParams c = copy();
        c.activation = act;
        return c;
    }

    public Layout layout() { return layout; }
    public int strideH() { return strideH; }
    public int strideW() { return strideW; }
    public int padTop() { return padTop; }
    public int padBottom() { return padBottom; }
    public int padLeft() { return padLeft; }
    public int padRight() { return padRight; }
    public int dilationH() { return dilationH; }
    public int dilationW() { return dilationW; }
    public int groups() { return groups; }
    public int outputPaddingH() { return outputPaddingH; }
    public int outputPaddingW() { return outputPaddingW; }
    public Act activation() { return activation; }
    public boolean nhwc() { return layout == Layout.NHWC; }

    @Override
    public String toString() {
        return layout + " stride=(" + strideH + ", " + strideW + ") padding=(" + padTop + ", " + padBottom + ", "
                + padLeft + ", " + padRight + ") dilation=(" + dilationH + ", " + dilationW + ") groups=" + groups
                + (outputPaddingH != 0 || outputPaddingW != 0
                        ? " output_padding=(" + outputPaddingH + ", " + outputPaddingW + ")" : "")
                + (activation != null ? " act=" + activation : "");
    }
}
