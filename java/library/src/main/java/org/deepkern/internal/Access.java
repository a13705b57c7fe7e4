package org.deepkern.internal;

import java.util.function.Function;
import org.deepkern.Tensor;

/**
 * The bridge from the public {@link Tensor} to its native side: Tensor hands its accessor over
 * when its class initializes, so the public class exposes no native handle and internal code still
 * reaches one. Not part of the public API.
 */
public final class Access {
    private static volatile Function<Tensor, NativeTensor> tensors;

    private Access() {}

    /** Called once, by Tensor's static initializer. */
    public static void tensors(Function<Tensor, NativeTensor> accessor) {
        if (tensors != null) throw new IllegalStateException("the tensor accessor is set already");
        tensors = accessor;
    }

    /** t's native side (a Tensor instance exists, so its class has initialized and set the accessor). */
    public static NativeTensor of(Tensor t) {
        return tensors.apply(t);
    }
}
