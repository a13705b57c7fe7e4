package org.deepkern.cli.bench;

import org.deepkern.Device;
import org.deepkern.profile.DeviceTimer;

/** The bench's clock on a device: the library's stream stopwatch (CUDA events on cuda). */
public final class DeviceClock implements Clock, AutoCloseable {
    private final DeviceTimer timer;

    public DeviceClock(Device device) {
        timer = new DeviceTimer(device);
    }

    @Override
    public void start() {
        timer.start();
    }

    @Override
    public double stop() {
        return timer.stop();
    }

    @Override
    public void close() {
        timer.close();
    }
}
