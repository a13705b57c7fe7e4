package org.deepkern.detect;

import org.deepkern.Tensor;

/**
 * What a decoder returns for N images of P predictions each: corner boxes (x1, y1, x2, y2) in
 * pixels [N, P, 4], scores [N, P] (both f32, whatever the heads' dtype) and classes [N, P] (int64).
 * Closing it closes the three tensors.
 *
 * @param boxes [N, P, 4], f32, xyxy
 * @param scores [N, P], f32
 * @param classes [N, P], int64
 */
public record Detections(Tensor boxes, Tensor scores, Tensor classes) implements AutoCloseable {
    @Override
    public void close() {
        boxes.close();
        scores.close();
        classes.close();
    }
}
