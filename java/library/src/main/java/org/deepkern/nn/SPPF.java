package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;

/**
 * The pooling of YOLOv5's SPPF block: x and three chained k x k stride-1 max pools of it,
 * concatenated over channels into 4C channels ({@link F#sppf}, one launch) - with k = 5 the same as
 * YOLOv4's SPP with pools of 5, 9 and 13. YOLOv5 wraps it between two 1x1 convolutions (C to C / 2
 * before, 2C to the output after): compose it with {@link Conv2d}s. No parameters.
 */
public final class SPPF extends Module {
    private final int kernel;
    private final Layout layout;

    /** YOLOv5's default: k = 5, NCHW. */
    public SPPF() {
        this(5, Layout.NCHW);
    }

    /**
     * @param kernel the pools' odd kernel size, 1 to 13
     * @param layout the image layout
     */
    public SPPF(int kernel, Layout layout) {
        this.kernel = kernel;
        this.layout = Objects.requireNonNull(layout, "layout");
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.sppf(input, kernel, layout);
    }

    @Override
    protected String extraRepr() {
        return "k=" + kernel + (layout == Layout.NHWC ? ", NHWC" : "");
    }
}
