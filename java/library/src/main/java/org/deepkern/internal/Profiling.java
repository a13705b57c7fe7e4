package org.deepkern.internal;

import static org.deepkern.bindings.global.deepkern_testing.*;

import org.bytedeco.javacpp.DoublePointer;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_context;
import org.deepkern.bindings.dk_timer;
import org.deepkern.bindings.global.deepkern;

/**
 * The native side of {@link org.deepkern.profile}: deepkern_testing.h's stopwatch, FMA-bound
 * kernel and empty call, and a raw device copy. Not part of the public API.
 */
public final class Profiling {
    private Profiling() {}

    /** A dk_timer on a device's stream. */
    public static final class Timer implements AutoCloseable {
        static {
            Native.init();  // before the fields below allocate native memory
        }

        private final dk_timer timer = new dk_timer(null);
        private final DoublePointer millis = new DoublePointer(1);

        public Timer(String op, Device device) {
            Native.check(op, dk_timer_create(Native.context(op, device), timer));
        }

        public void start() {
            Native.check("DeviceTimer.start", dk_timer_start(timer));
        }

        /** Seconds since start, once the work queued before this call is done. */
        public double stop() {
            Native.check("DeviceTimer.stop", dk_timer_stop(timer, millis));
            return millis.get() / 1e3;
        }

        @Override
        public void close() {
            Native.check("DeviceTimer.close", dk_timer_destroy(timer));
            millis.close();
        }
    }

    public static void fma(Call c, Tensor out, int iterations) {
        c.tensor("out", out);
        c.check(dk_roofline_fma(c.context(), c.in("out", out), iterations));
    }

    public static void emptyCall(String op, Device device) {
        dk_context ctx = Native.context(op, device);
        Native.check(op, dk_noop(ctx));
    }

    /** bytes of src's memory into dst's, no conversion. */
    public static void copyBytes(Call c, Tensor dst, Tensor src, long bytes) {
        NativeTensor d = Access.of(c.tensor("dst", dst)), s = Access.of(c.tensor("src", src));
        d.copyBytesFrom(c.op(), s, bytes);
    }
}
