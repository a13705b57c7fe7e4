package org.deepkern;

/**
 * Every failure deepkern reports: bad arguments (named, with expected and actual values),
 * unavailable backends, device errors and emulator check failures. Carries the native status.
 * Unchecked (a {@link RuntimeException}).
 */
public class DeepKernException extends RuntimeException {
    /** The kind of failure (part of the serialized form). */
    private final Status status;

    /**
     * @param status the kind of failure
     * @param message what failed and why
     */
    public DeepKernException(Status status, String message) {
        super(message);
        this.status = status;
    }

    /** @return the kind of failure, as deepkern.h's {@code dk_status} names it */
    public Status status() {
        return status;
    }

    /**
     * An argument error raised on the Java side, before anything reaches native code. Its message
     * is {@code op: argument 'argument': problem}.
     *
     * @param op the public method called, such as {@code F.conv2d}
     * @param argument the argument's name
     * @param problem what was expected and what was given
     * @return the exception (to throw), with {@link Status#INVALID_ARGUMENT}
     */
    public static DeepKernException invalidArgument(String op, String argument, String problem) {
        return new DeepKernException(Status.INVALID_ARGUMENT, op + ": argument '" + argument + "': " + problem);
    }
}
