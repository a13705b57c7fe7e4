package org.deepkern.cli.bench;

/** A stopwatch: device events on cuda, the host clock elsewhere ({@link DeviceClock}). */
public interface Clock {
    void start();

    /** Seconds since {@link #start}, once the work queued since then is done. */
    double stop();
}
