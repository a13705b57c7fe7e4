package org.deepkern;

/** The native status codes of deepkern.h ({@code dk_status}). */
public enum Status {
    SUCCESS(0),
    INVALID_ARGUMENT(1),
    OUT_OF_MEMORY(2),
    UNAVAILABLE(3),
    NOT_SUPPORTED(4),
    DEVICE(5),
    KERNEL(6),
    INTERNAL(7);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static Status of(int code) {
        for (Status s : values()) if (s.code == code) return s;
        return INTERNAL;
    }
}
