package org.deepkern;

/** Whether a backend is compiled in and usable; {@code reason} says why not. */
public record BackendInfo(Device.Type type, boolean available, String reason) {}
