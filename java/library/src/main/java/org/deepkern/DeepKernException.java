package org.deepkern;

/**
 * Every failure deepkern reports: bad arguments (named, with expected and actual values),
 * unavailable backends, device errors and emulator check failures. Carries the native status.
 */
public class DeepKernException extends RuntimeException {
    private final Status status;

    public DeepKernException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public Status status() {
        return status;
    }

    /** An argument error raised on the Java side, before anything reaches native code. */
    public static DeepKernException invalidArgument(String op, String argument, String problem) {
        return new DeepKernException(Status.INVALID_ARGUMENT, op + ": argument '" + argument + "': " + problem);
    }
}
