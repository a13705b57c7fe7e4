package org.deepkern.bench;

/** A stopwatch: device events on cuda, the host clock elsewhere ({@link DeviceTimer}). */
public interface Clock {
    void start();

    /** Seconds since {@link #start}, once the work queued since then is done. */
    double stop();
}
