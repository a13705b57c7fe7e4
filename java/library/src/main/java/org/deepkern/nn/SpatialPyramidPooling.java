package org.deepkern.nn;

import java.util.Arrays;
import java.util.Objects;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;

/**
 * Spatial pyramid pooling (He et al., SPPNet): a fixed-length vector from an image of any size, the
 * max of each bin of an l x l grid for every level l, concatenated into [N, C * sum(l^2)]
 * ({@link F#spatialPyramidPool}: torch's adaptive bins, one launch). No parameters.
 */
public final class SpatialPyramidPooling extends Module {
    private final int[] levels;
    private final Layout layout;

    /** @param levels the grid sizes, e.g. {1, 2, 4} or {6, 3, 2, 1}; NCHW images */
    public SpatialPyramidPooling(int... levels) {
        this(Layout.NCHW, levels);
    }

    /**
     * @param layout the image layout
     * @param levels the grid sizes (1 to 8 of them, each &gt;= 1)
     */
    public SpatialPyramidPooling(Layout layout, int... levels) {
        this.levels = Objects.requireNonNull(levels, "levels").clone();
        this.layout = Objects.requireNonNull(layout, "layout");
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.spatialPyramidPool(input, levels, layout);
    }

    @Override
    protected String extraRepr() {
        return "levels=" + Arrays.toString(levels) + (layout == Layout.NHWC ? ", NHWC" : "");
    }
}
