package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.bindings.dk_postprocess_params;
import org.deepkern.bindings.dk_yolo_params;
import org.deepkern.detect.BoxFormat;
import org.deepkern.detect.Detections;
import org.deepkern.detect.PaddedDetections;
import org.deepkern.detect.PostprocessParams;
import org.deepkern.internal.Call;

/**
 * The detection family (kernels/detect): box conversions, areas, clipping, IoU, NMS, the head
 * decoders and RoIAlign. Output shapes follow from the inputs' (the native calls check them). Not
 * part of the public API.
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

    /** The fused postprocess; classes null for scores [N, B, C], else scores [N, B] and a class per box. */
    public static PaddedDetections postprocess(Call c, Tensor boxes, Tensor scores, Tensor classes, PostprocessParams params) {
        Tensor b = c.tensor("boxes", boxes), s = c.tensor("scores", scores);
        PostprocessParams p = c.required("params", params, "PostprocessParams");
        int format = format(c, "params.boxFormat", p.boxFormat());
        long n = b.shape().length == 3 ? b.shape()[0] : 0;
        // a slot count the C call will refuse gets no output of its own
        long slots = p.maxDetections() >= 1 && p.maxDetections() <= DK_POSTPROCESS_MAX_TOP_K ? p.maxDetections() : 0;
        Tensor count = c.output(DType.I64, n);
        try (dk_postprocess_params q = new dk_postprocess_params()) {
            q.score_threshold(p.scoreThreshold()).iou_threshold(p.iouThreshold()).top_k(p.topK())
                    .max_detections(p.maxDetections()).background_class(p.backgroundClass()).box_format(format)
                    .score_sigmoid(p.scoreSigmoid() ? 1 : 0).class_agnostic(p.classAgnostic() ? 1 : 0);
            Detections d = decoded(c, n, slots, (ob, os, oc) -> dk_detection_postprocess(c.context(), q, handle(b), handle(s),
                    classes == null ? null : handle(classes), handle(count), ob, os, oc));
            return new PaddedDetections(count, d.boxes(), d.scores(), d.classes());
        } catch (RuntimeException e) {
            count.close();
            throw e;
        }
    }

    public static final int YOLO_V3 = DK_YOLO_V3, YOLO_V5 = DK_YOLO_V5, YOLO_V8 = DK_YOLO_V8;

    private static final String[] DECODE_RENAMES = {
        "params.num_classes", "numClasses", "params.reg_max", "regMax", "down_ratio", "downRatio"};

    /** A positive finite number, named as argument name. */
    private static double positive(Call c, String name, double v) {
        if (!(Double.isFinite(v) && v > 0)) throw c.invalid(name, "expected a finite number > 0, got " + v);
        return v;
    }

    /** Extent d of a head, 0 where it has not 4 dims (the native call names the head). */
    private static long extent(Tensor t, int d) {
        return t.shape().length == 4 ? t.shape()[d] : 0;
    }

    /**
     * YOLO heads of every level decoded in one native call; anchors null for v8 (anchor-free). The
     * level lists are checked here, where a Java array of arrays can be ragged; the C call checks
     * the rest (and again these).
     */
    public static Detections yolo(Call c, int head, List<Tensor> heads, double[] strides, double[][] anchors, int numClasses,
                                  int regMax) {
        if (heads == null) throw c.invalid("heads", "expected a list of tensors, got null");
        int levels = heads.size();
        if (levels < 1 || levels > DK_DECODE_MAX_LEVELS)
            throw c.invalid("heads", "expected 1 .. " + DK_DECODE_MAX_LEVELS + " levels, got " + levels);
        Tensor[] hs = new Tensor[levels];
        for (int l = 0; l < levels; l++) hs[l] = c.tensor("heads[" + l + "]", heads.get(l));
        if (strides == null || strides.length != levels)
            throw c.invalid("strides", "expected one stride per level (" + levels + "), got "
                    + (strides == null ? "null" : strides.length));
        for (int l = 0; l < levels; l++) positive(c, "strides[" + l + "]", strides[l]);
        int perLevel = 1;
        if (head != YOLO_V8) {
            if (anchors == null || anchors.length != levels)
                throw c.invalid("anchors", "expected the anchors of each level (" + levels + "), got "
                        + (anchors == null ? "null" : anchors.length));
            for (int l = 0; l < levels; l++) {
                String name = "anchors[" + l + "]";
                double[] a = anchors[l];
                if (a == null || a.length < 2 || a.length > 2 * DK_DECODE_MAX_ANCHORS || a.length % 2 != 0)
                    throw c.invalid(name, "expected 1 .. " + DK_DECODE_MAX_ANCHORS + " (w, h) pairs {w0, h0, w1, h1, ...}, got "
                            + (a == null ? "null" : a.length + " numbers"));
                if (a.length != anchors[0].length)
                    throw c.invalid(name, "expected as many anchors as level 0 (" + anchors[0].length / 2 + "), got " + a.length / 2);
                for (double v : a) positive(c, name, v);
            }
            perLevel = anchors[0].length / 2;
        }
        long n = extent(hs[0], 0), total = 0;
        for (Tensor h : hs) total += perLevel * extent(h, 2) * extent(h, 3);
        try (dk_yolo_params p = new dk_yolo_params(); PointerPointer<dk_tensor> handles = new PointerPointer<>(levels)) {
            p.head(head).num_levels(levels).num_classes(numClasses).num_anchors(perLevel).reg_max(regMax);
            for (int l = 0; l < levels; l++) {
                p.strides(l, strides[l]);
                handles.put(l, handle(hs[l]));
                for (int k = 0; head != YOLO_V8 && k < 2 * perLevel; k++) p.anchors(2 * l * DK_DECODE_MAX_ANCHORS + k, anchors[l][k]);
            }
            return decoded(c, n, total, (b, s, k) -> dk_yolo_decode(c.context(), p, handles, b, s, k));
        }
    }

    /** CenterNet's ctdet_decode; offset optional. */
    public static Detections centerNet(Call c, Tensor heatmap, Tensor wh, Tensor offset, int k, double downRatio) {
        Tensor h = c.tensor("heatmap", heatmap), w = c.tensor("wh", wh);
        Tensor o = offset == null ? null : c.tensor("offset", offset);
        // a k the C call will refuse gets no output of its own: nothing is allocated for a bad argument
        long n = extent(h, 0), slots = k >= 1 && k <= DK_CENTERNET_MAX_K ? k : 0;
        return decoded(c, n, slots, (b, s, cl) -> dk_centernet_decode(c.context(), handle(h), handle(w),
                o == null ? null : handle(o), k, downRatio, b, s, cl));
    }

    private static final String[] ROI_RENAMES = {
        "output_h", "outH", "output_w", "outW", "spatial_scale", "spatialScale", "sampling_ratio", "samplingRatio",
        "grad_out", "gradOut", "grad_input", "inputShape"};

    /** Extent d of t where it has rank dims, else 0 (the native call names the tensor). */
    private static long extent(Tensor t, int dims, int d) {
        return t.shape().length == dims ? t.shape()[d] : 0;
    }

    /** torchvision's roi_align on boxes [K, 5]: out [K, C, outH, outW]. */
    public static Tensor roiAlign(Call c, Tensor input, Tensor boxes, int outH, int outW, double spatialScale,
                                  int samplingRatio, boolean aligned) {
        Tensor x = c.tensor("input", input), b = c.tensor("boxes", boxes);
        // sizes the C call will refuse make an empty output: nothing is allocated for a bad argument
        long[] shape = {extent(b, 2, 0), extent(x, 4, 1), Math.max(outH, 0), Math.max(outW, 0)};
        return Derivatives.roiAlign(c, input, boxes, spatialScale, samplingRatio, aligned, fresh(c.output(x.dtype(), shape),
                o -> c.check(dk_roi_align(c.context(), handle(x), handle(b), outH, outW, spatialScale, samplingRatio,
                        aligned ? 1 : 0, handle(o)), ROI_RENAMES)));
    }

    /** roi_align's input gradient [N, C, H, W] = inputShape from gradOut [K, C, outH, outW]. */
    public static Tensor roiAlignBackward(Call c, Tensor gradOut, Tensor boxes, long[] inputShape, double spatialScale,
                                          int samplingRatio, boolean aligned) {
        Tensor g = c.tensor("gradOut", gradOut), b = c.tensor("boxes", boxes);
        if (inputShape == null) throw c.invalid("inputShape", "expected a shape [N, C, H, W], got null");
        if (inputShape.length != 4 || Arrays.stream(inputShape).anyMatch(e -> e < 0))
            throw c.invalid("inputShape", "expected a shape [N, C, H, W] of extents >= 0, got " + Arrays.toString(inputShape));
        return fresh(c.output(g.dtype(), inputShape.clone()), o -> c.check(dk_roi_align_backward(c.context(), handle(g),
                handle(b), spatialScale, samplingRatio, aligned ? 1 : 0, handle(o)), ROI_RENAMES));
    }

    private interface Decode {
        int run(dk_tensor boxes, dk_tensor scores, dk_tensor classes);
    }

    /** The outputs of n images of count predictions each, made, then filled by run (closed if it fails). */
    private static Detections decoded(Call c, long n, long count, Decode run) {
        Tensor boxes = c.output(DType.F32, n, count, 4);
        Tensor scores = null, classes = null;
        try {
            scores = c.output(DType.F32, n, count);
            classes = c.output(DType.I64, n, count);
            c.check(run.run(handle(boxes), handle(scores), handle(classes)), DECODE_RENAMES);
            return new Detections(boxes, scores, classes);
        } catch (RuntimeException e) {
            boxes.close();
            if (scores != null) scores.close();
            if (classes != null) classes.close();
            throw e;
        }
    }
}
