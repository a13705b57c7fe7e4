package org.deepkern.ops;

import org.deepkern.DeepKernException;
import org.deepkern.ops.Conv2dParams.Layout;

/**
 * How {@link F#interpolate} resizes: the mode, torch's align_corners and antialias (bilinear and
 * bicubic only, as in torch; checked by the op), and the image layout. Immutable; {@link #of} gives
 * align_corners false, no antialias, NCHW.
 */
public final class InterpolateParams {
    private final InterpolationMode mode;
    private final boolean alignCorners, antialias;
    private final Layout layout;

    private InterpolateParams(InterpolationMode mode, boolean alignCorners, boolean antialias, Layout layout) {
        this.mode = mode;
        this.alignCorners = alignCorners;
        this.antialias = antialias;
        this.layout = layout;
    }

    /**
     * @param mode the mode
     * @return the mode with torch's defaults (align_corners false, no antialias, NCHW)
     */
    public static InterpolateParams of(InterpolationMode mode) {
        if (mode == null) throw DeepKernException.invalidArgument("InterpolateParams.of", "mode", "expected a mode, got null");
        return new InterpolateParams(mode, false, false, Layout.NCHW);
    }

    /**
     * @param on whether on
     * @return a copy aligning the corner pixels' centres (torch's align_corners) or not
     */
    public InterpolateParams withAlignCorners(boolean on) {
        return new InterpolateParams(mode, on, antialias, layout);
    }

    /**
     * @param on whether on
     * @return a copy antialiasing (torch's antialias: Pillow's filters, stretched when downsampling) or not
     */
    public InterpolateParams withAntialias(boolean on) {
        return new InterpolateParams(mode, alignCorners, on, layout);
    }

    /**
     * @param layout the layout
     * @return a copy for images in this layout
     */
    public InterpolateParams withLayout(Layout layout) {
        if (layout == null)
            throw DeepKernException.invalidArgument("InterpolateParams.withLayout", "layout", "expected NCHW or NHWC, got null");
        return new InterpolateParams(mode, alignCorners, antialias, layout);
    }

    /** @return the mode */
    public InterpolationMode mode() { return mode; }
    /** @return whether corners align */
    public boolean alignCorners() { return alignCorners; }
    /** @return whether downsampling is antialiased */
    public boolean antialias() { return antialias; }
    /** @return the image layout */
    public Layout layout() { return layout; }

    @Override
    public String toString() {
        return layout + " " + mode.name().toLowerCase().replace('_', '-') + (alignCorners ? " align_corners" : "")
                + (antialias ? " antialias" : "");
    }
}
