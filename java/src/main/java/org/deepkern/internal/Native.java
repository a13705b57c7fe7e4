package org.deepkern.internal;

import static org.deepkern.bindings.global.deepkern.*;

import java.util.concurrent.ConcurrentHashMap;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Status;
import org.bytedeco.javacpp.Loader;
import org.deepkern.bindings.dk_context;

/**
 * The one door to the generated bindings: loads the library, keeps one native context per device
 * for the life of the JVM, and turns native statuses into {@link DeepKernException}s.
 * Not part of the public API.
 */
public final class Native {
    private static final ConcurrentHashMap<Device, dk_context> CONTEXTS = new ConcurrentHashMap<>();

    static {
        // libdeepkern and the JNI layer travel in the bindings jar; JavaCPP extracts them into its
        // cache folder, which the system property org.bytedeco.javacpp.cachedir relocates.
        Loader.load(org.deepkern.bindings.global.deepkern.class);
    }

    private Native() {}

    /** Ensures the native library is loaded. */
    public static void init() {}

    /** Throws the native error if {@code status} is not success. */
    public static void check(int status) {
        if (status != DK_SUCCESS) {
            throw new DeepKernException(Status.of(status), dk_last_error().getString());
        }
    }

    /** The context of a device, created on first use. */
    public static dk_context context(Device device) {
        dk_context ctx = CONTEXTS.get(device);
        if (ctx != null) return ctx;
        synchronized (CONTEXTS) {
            ctx = CONTEXTS.get(device);
            if (ctx == null) {
                ctx = new dk_context(null);
                check(dk_context_create(device.type().code(), device.index(), ctx));
                CONTEXTS.put(device, ctx);
            }
            return ctx;
        }
    }
}
