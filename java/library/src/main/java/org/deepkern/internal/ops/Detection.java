package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import java.util.Arrays;
import org.bytedeco.javacpp.LongPointer;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.detect.BoxFormat;
import org.deepkern.internal.Call;

/**
 * The detection family (kernels/detect): box conversions, areas, clipping, IoU and NMS. Output
 * shapes follow from the boxes' (the native calls check them). Not part of the public API.
 */
public final class Detection {
    private Detection() {}

    private static int format(Call c, String name, BoxFormat f) {
        return switch (c.required(name, f, "a BoxFormat")) {
            case XYXY -> DK_BOX_XYXY;
            case XYWH -> DK_BOX_XYWH;
            case CXCYWH -> DK_BOX_CXCYWH;
        };
    }

    public static Tensor convert(Call c, Tensor boxes, BoxFormat inFmt, BoxFormat outFmt) {
        Tensor b = c.tensor("boxes", boxes);
        int in = format(c, "inFmt", inFmt), out = format(c, "outFmt", outFmt);
        return fresh(c.output(b.dtype(), b.shape()), o -> c.check(dk_box_convert(c.context(), handle(b), in, out, handle(o)),
                "in_fmt", "inFmt", "out_fmt", "outFmt"));
    }

    public static Tensor area(Call c, Tensor boxes) {
        Tensor b = c.tensor("boxes", boxes);
        long[] shape = b.shape();
        // a rank-0 tensor has no dim of coordinates: the native call says so
        long[] out = shape.length == 0 ? shape : Arrays.copyOf(shape, shape.length - 1);
        return fresh(c.output(b.dtype(), out), o -> c.check(dk_box_area(c.context(), handle(b), handle(o))));
    }

    public static Tensor clip(Call c, Tensor boxes, long height, long width) {
        Tensor b = c.tensor("boxes", boxes);
        return fresh(c.output(b.dtype(), b.shape()), o -> c.check(dk_clip_boxes(c.context(), handle(b), height, width, handle(o))));
    }

    public static Tensor iou(Call c, Tensor a, Tensor b) {
        Tensor x = c.tensor("a", a), y = c.tensor("b", b);
        long n = x.shape().length == 2 ? x.shape()[0] : 0, m = y.shape().length == 2 ? y.shape()[0] : 0;
        return fresh(c.output(x.dtype(), n, m), o -> c.check(dk_box_iou(c.context(), handle(x), handle(y), handle(o))));
    }

    /**
     * The kept indices, int64, by decreasing score: the first count elements of an output with room
     * for every box (a view of it, as torchvision's keep[:count]). Batched: NMS within each class.
     */
    public static Tensor nms(Call c, Tensor boxes, Tensor scores, Tensor classes, boolean batched, double iouThreshold) {
        Tensor b = c.tensor("boxes", boxes), s = c.tensor("scores", scores);
        if (batched) c.tensor("classes", classes);
        long n = b.shape().length == 2 ? b.shape()[0] : 0;
        Tensor keep = c.output(DType.I64, n);
        try (keep; LongPointer count = new LongPointer(1)) {
            String[] renames = {"iou_threshold", "iouThreshold"};
            c.check(batched
                    ? dk_batched_nms(c.context(), handle(b), handle(s), handle(classes), iouThreshold, handle(keep), count)
                    : dk_nms(c.context(), handle(b), handle(s), iouThreshold, handle(keep), count), renames);
            return keep.narrow(0, 0, count.get());
        }
    }
}
