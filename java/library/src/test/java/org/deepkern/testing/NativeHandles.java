package org.deepkern.testing;

import org.deepkern.Tensor;
import org.deepkern.bindings.dk_context;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.internal.Access;

/** A tensor's native description and context, for tests that call the C API directly. */
public final class NativeHandles {
    private NativeHandles() {}

    public static dk_tensor handle(Tensor t) {
        return Access.of(t).handle();
    }

    public static dk_context context(Tensor t) {
        return Access.of(t).context();
    }
}
