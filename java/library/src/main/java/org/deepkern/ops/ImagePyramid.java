package org.deepkern.ops;

import java.util.List;
import org.deepkern.Tensor;

/**
 * An image pyramid from {@link F#imagePyramid}: every level packed in one buffer, and each level as
 * a view of it ([N, C, h, w], or NHWC), largest first. Closing the packed buffer frees them all.
 *
 * @param packed the levels one after another, 1-D
 * @param levels the levels, views of packed
 */
public record ImagePyramid(Tensor packed, List<Tensor> levels) implements AutoCloseable {
    @Override
    public void close() {
        levels.forEach(Tensor::close);
        packed.close();
    }
}
