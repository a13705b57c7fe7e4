package org.deepkern.detect;

import org.deepkern.Tensor;

/**
 * What {@link Detect#postprocess} returns for N images with D slots each (TensorRT EfficientNMS's
 * outputs): how many slots of each image hold a detection, then the slots - the kept detections by
 * decreasing score, the rest padded with a zero box, score 0 and class -1. Closing it closes the
 * four tensors.
 *
 * @param count [N], int64: detections kept per image
 * @param boxes [N, D, 4], f32, xyxy
 * @param scores [N, D], f32
 * @param classes [N, D], int64
 */
public record PaddedDetections(Tensor count, Tensor boxes, Tensor scores, Tensor classes) implements AutoCloseable {
    @Override
    public void close() {
        count.close();
        boxes.close();
        scores.close();
        classes.close();
    }
}
