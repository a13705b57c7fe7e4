package org.deepkern.internal;

import static org.deepkern.bindings.global.deepkern.*;

import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    /**
     * Throws the native error of a call to Java method {@code op} if {@code status} is not success;
     * renames as in {@link #error}.
     */
    public static void check(String op, int status, String... renames) {
        if (status != DK_SUCCESS) throw error(op, status, renames);
    }

    private static final Pattern NATIVE_OP = Pattern.compile("^dk_[a-z0-9_]+: ");
    // a quoted argument name; a kernel's name ("kernel 'attention_forward'") keeps its C spelling
    private static final Pattern QUOTED = Pattern.compile("(?<!kernel )'([a-z][a-z0-9]*(?:[_.][a-z0-9]+)*)'");

    /**
     * The thread's last native error as the failure of Java method {@code op}: the C function's
     * name replaced by op's, and each quoted C argument name ('grad_out', 'params.stride_h') in
     * the Java spelling of the same argument ('gradOut', 'params.strideH'), or as renames says:
     * pairs of native name and Java name ("x", "inputShape").
     */
    public static DeepKernException error(String op, int status, String... renames) {
        String message = NATIVE_OP.matcher(dk_last_error().getString()).replaceFirst("");
        Matcher m = QUOTED.matcher(message);
        StringBuilder b = new StringBuilder(op).append(": ");
        while (m.find()) m.appendReplacement(b, Matcher.quoteReplacement("'" + javaName(m.group(1), renames) + "'"));
        m.appendTail(b);
        return new DeepKernException(Status.of(status), b.toString());
    }

    /** A native argument name in Java: renamed where the Java call names it otherwise, else camelCase. */
    private static String javaName(String nativeName, String[] renames) {
        for (int i = 0; i + 1 < renames.length; i += 2)
            if (renames[i].equals(nativeName)) return renames[i + 1];
        return camelCase(nativeName);
    }

    static String camelCase(String snake) {
        StringBuilder b = new StringBuilder(snake.length());
        for (int i = 0; i < snake.length(); i++) {
            char c = snake.charAt(i);
            if (c == '_' && i + 1 < snake.length()) b.append(Character.toUpperCase(snake.charAt(++i)));
            else b.append(c);
        }
        return b.toString();
    }

    /** The context of a device, created on first use. */
    public static dk_context context(Device device) {
        return context("DeepKern.context", device);
    }

    /** The context of a device for Java method op, which reports a device that cannot be used. */
    public static dk_context context(String op, Device device) {
        dk_context ctx = CONTEXTS.get(device);
        if (ctx != null) return ctx;
        synchronized (CONTEXTS) {
            ctx = CONTEXTS.get(device);
            if (ctx == null) {
                ctx = new dk_context(null);
                check(op, dk_context_create(device.type().code(), device.index(), ctx));
                CONTEXTS.put(device, ctx);
            }
            return ctx;
        }
    }
}
