package org.deepkern.bindings;

import org.bytedeco.javacpp.Loader;
import org.deepkern.bindings.global.deepkern;

/**
 * Loads libdeepkern and its JNI layer from the classpath (they travel in this jar under
 * {@code org/deepkern/bindings/linux-x86_64/}). JavaCPP extracts them into its cache folder,
 * which the system property {@code org.bytedeco.javacpp.cachedir} relocates.
 */
public final class NativeLibrary {
    private NativeLibrary() {}

    /** Loads the native libraries once; later calls return at once. */
    public static synchronized void load() {
        Loader.load(deepkern.class);
    }
}
