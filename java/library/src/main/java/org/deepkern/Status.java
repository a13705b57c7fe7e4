package org.deepkern;

/**
 * The native status codes of deepkern.h ({@code dk_status}): what kind of failure a
 * {@link DeepKernException} reports ({@link DeepKernException#status()}).
 */
public enum Status {
    /** No failure ({@code DK_SUCCESS}, 0); deepkern never throws with it. */
    SUCCESS(0),
    /** An argument failed validation (1): a bad shape, dtype, device, value or null; nothing ran. */
    INVALID_ARGUMENT(1),
    /** A host or device allocation failed (2). */
    OUT_OF_MEMORY(2),
    /** The backend or device is not built into this library or not present on this machine (3). */
    UNAVAILABLE(3),
    /** A valid request that this build cannot serve (4). */
    NOT_SUPPORTED(4),
    /** The CUDA runtime or driver reported an error (5). */
    DEVICE(5),
    /** The emulator's strict checks failed a kernel launch (6); see {@link Emulator}. */
    KERNEL(6),
    /** A bug in deepkern (7); also what {@link #of} gives for an unknown code. */
    INTERNAL(7);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** @return the native {@code dk_status} value, 0 to 7 */
    public int code() {
        return code;
    }

    /**
     * @param code a native {@code dk_status} value
     * @return its constant; {@link #INTERNAL} for a code that is not one
     */
    public static Status of(int code) {
        for (Status s : values()) if (s.code == code) return s;
        return INTERNAL;
    }
}
