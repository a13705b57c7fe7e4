package org.deepkern.bench;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Native.check;

import org.bytedeco.javacpp.DoublePointer;
import org.deepkern.Device;
import org.deepkern.bindings.dk_timer;
import org.deepkern.internal.Native;

/** dk_timer: CUDA events on the device's stream on cuda, the monotonic clock on cpu and emu. */
public final class DeviceTimer implements Clock, AutoCloseable {
    static {
        Native.init();  // before the fields below allocate native memory
    }

    private final dk_timer timer = new dk_timer(null);
    private final DoublePointer millis = new DoublePointer(1);

    public DeviceTimer(Device device) {
        check(dk_timer_create(Native.context(device), timer));
    }

    @Override
    public void start() {
        check(dk_timer_start(timer));
    }

    @Override
    public double stop() {
        check(dk_timer_stop(timer, millis));
        return millis.get() / 1e3;
    }

    @Override
    public void close() {
        check(dk_timer_destroy(timer));
        millis.close();
    }
}
