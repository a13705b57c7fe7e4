package org.deepkern.profile;

import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.internal.Profiling;

/**
 * A stopwatch on a device's stream: CUDA events on cuda (device time between the two points of
 * the stream, no host overhead in it), the host's monotonic clock on cpu and emu (whose ops are
 * done when they return). Close it to free its events.
 */
public final class DeviceTimer implements AutoCloseable {
    private final Profiling.Timer timer;

    /**
     * @param device the device whose stream it times
     */
    public DeviceTimer(Device device) {
        if (device == null) throw DeepKernException.invalidArgument("new DeviceTimer", "device", "expected a device, got null");
        timer = new Profiling.Timer("new DeviceTimer", device);
    }

    /** Marks the start on the stream. */
    public void start() {
        timer.start();
    }

    /**
     * Marks the end on the stream and waits for the work queued before it.
     *
     * @return seconds from start to here
     */
    public double stop() {
        return timer.stop();
    }

    @Override
    public void close() {
        timer.close();
    }
}
