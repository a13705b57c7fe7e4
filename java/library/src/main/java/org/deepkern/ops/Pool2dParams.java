package org.deepkern.ops;

import org.deepkern.DeepKernException;
import org.deepkern.ops.Conv2dParams.Layout;

/**
 * The window of a 2-D max or average pooling, as torch.nn.functional.max_pool2d / avg_pool2d take
 * it, plus the layout. Immutable; each {@code with...} returns a copy. {@link #of(int)} gives
 * torch's defaults: stride = kernel, no padding, dilation 1, floor mode, count_include_pad true, no
 * divisor override, NCHW.
 *
 * <p>The op checks the values (a bad one raises {@link DeepKernException} with
 * {@link org.deepkern.Status#INVALID_ARGUMENT}): kernel, stride and dilation &gt;= 1, padding in
 * [0, kernel / 2], dilation 1 for average pooling, and a window that fits the padded image. Output
 * size per dim, as torch: {@code Ho = floor((H + 2 padH - dilationH (kernelH - 1) - 1) / strideH) + 1}
 * (ceil in ceil mode, where a last window starting in the right padding is dropped).
 */
public final class Pool2dParams {
    private int kernelH, kernelW, strideH, strideW, padH, padW, dilationH = 1, dilationW = 1;
    private boolean ceilMode, countIncludePad = true;
    private int divisorOverride;
    private Layout layout = Layout.NCHW;

    private Pool2dParams() {}

    /**
     * @param k the kernel size
     * @return a square kernel of size k with torch's defaults (stride k)
     */
    public static Pool2dParams of(int k) {
        return of(k, k);
    }

    /**
     * @param kh the kernel height
     * @param kw the kernel width
     * @return a kh x kw kernel with torch's defaults (stride = kernel)
     */
    public static Pool2dParams of(int kh, int kw) {
        Pool2dParams p = new Pool2dParams();
        p.kernelH = p.strideH = kh;
        p.kernelW = p.strideW = kw;
        return p;
    }

    private Pool2dParams copy() {
        Pool2dParams p = new Pool2dParams();
        p.kernelH = kernelH;
        p.kernelW = kernelW;
        p.strideH = strideH;
        p.strideW = strideW;
        p.padH = padH;
        p.padW = padW;
        p.dilationH = dilationH;
        p.dilationW = dilationW;
        p.ceilMode = ceilMode;
        p.countIncludePad = countIncludePad;
        p.divisorOverride = divisorOverride;
        p.layout = layout;
        return p;
    }

    /**
     * @param s the stride
     * @return a copy with stride s along both dims
     */
    public Pool2dParams withStride(int s) {
        return withStride(s, s);
    }

    /**
     * @param h the value along H
     * @param w the value along W
     * @return a copy with strides h and w
     */
    public Pool2dParams withStride(int h, int w) {
        Pool2dParams p = copy();
        p.strideH = h;
        p.strideW = w;
        return p;
    }

    /**
     * @param p the padding
     * @return a copy with implicit padding p on every side (-inf for max, zeros for average)
     */
    public Pool2dParams withPadding(int p) {
        return withPadding(p, p);
    }

    /**
     * @param h the value along H
     * @param w the value along W
     * @return a copy with h rows above and below, w columns left and right
     */
    public Pool2dParams withPadding(int h, int w) {
        Pool2dParams p = copy();
        p.padH = h;
        p.padW = w;
        return p;
    }

    /**
     * @param d the dilation
     * @return a copy with dilation d along both dims (max pooling only)
     */
    public Pool2dParams withDilation(int d) {
        return withDilation(d, d);
    }

    /**
     * @param h the value along H
     * @param w the value along W
     * @return a copy with dilations h and w (max pooling only)
     */
    public Pool2dParams withDilation(int h, int w) {
        Pool2dParams p = copy();
        p.dilationH = h;
        p.dilationW = w;
        return p;
    }

    /**
     * @param on whether on
     * @return a copy rounding the output size up (torch's ceil_mode)
     */
    public Pool2dParams withCeilMode(boolean on) {
        Pool2dParams p = copy();
        p.ceilMode = on;
        return p;
    }

    /**
     * @param on whether on
     * @return a copy whose average counts the padding in its divisor or not (torch's count_include_pad, default true)
     */
    public Pool2dParams withCountIncludePad(boolean on) {
        Pool2dParams p = copy();
        p.countIncludePad = on;
        return p;
    }

    /**
     * @param d the divisor, or 0 for none
     * @return a copy whose average divides by d (torch's divisor_override; 0 = none)
     */
    public Pool2dParams withDivisorOverride(int d) {
        Pool2dParams p = copy();
        p.divisorOverride = d;
        return p;
    }

    /**
     * @param layout the layout
     * @return a copy for images in this layout
     */
    public Pool2dParams withLayout(Layout layout) {
        if (layout == null)
            throw DeepKernException.invalidArgument("Pool2dParams.withLayout", "layout", "expected NCHW or NHWC, got null");
        Pool2dParams p = copy();
        p.layout = layout;
        return p;
    }

    /** @return the kernel's height */
    public int kernelH() { return kernelH; }
    /** @return the kernel's width */
    public int kernelW() { return kernelW; }
    /** @return the stride along H */
    public int strideH() { return strideH; }
    /** @return the stride along W */
    public int strideW() { return strideW; }
    /** @return the padding above and below */
    public int padH() { return padH; }
    /** @return the padding left and right */
    public int padW() { return padW; }
    /** @return the dilation along H */
    public int dilationH() { return dilationH; }
    /** @return the dilation along W */
    public int dilationW() { return dilationW; }
    /** @return whether the output size rounds up */
    public boolean ceilMode() { return ceilMode; }
    /** @return whether an average counts the padding */
    public boolean countIncludePad() { return countIncludePad; }
    /** @return the average's divisor override, 0 for none */
    public int divisorOverride() { return divisorOverride; }
    /** @return the image layout */
    public Layout layout() { return layout; }

    /** @return every parameter, torch-style */
    @Override
    public String toString() {
        return layout + " kernel=(" + kernelH + ", " + kernelW + ") stride=(" + strideH + ", " + strideW + ") padding=("
                + padH + ", " + padW + ") dilation=(" + dilationH + ", " + dilationW + ")" + (ceilMode ? " ceil_mode" : "")
                + (countIncludePad ? "" : " count_include_pad=False")
                + (divisorOverride != 0 ? " divisor_override=" + divisorOverride : "");
    }
}
