package org.deepkern.ops;

/** torch.nn.functional.interpolate's image modes. */
public enum InterpolationMode {
    /** x[floor(o * scale)]: torch's "nearest" (OpenCV's INTER_NEAREST). */
    NEAREST,
    /** x[floor((o + 0.5) * scale)]: torch's "nearest-exact" (PIL's, scikit-image's). */
    NEAREST_EXACT,
    /** Two taps per axis. */
    BILINEAR,
    /** Four taps per axis, cubic convolution with A = -0.75. */
    BICUBIC
}
