package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.deepkern.DeepKernException;
import org.deepkern.Status;
import org.junit.jupiter.api.function.Executable;

/**
 * What every rejected call must give: an invalid-argument DeepKernException naming the Java method
 * called and the argument.
 */
public final class BadInput {
    /**
     * How every message starts: the public method or constructor the user called ("F.conv2d: ",
     * "Tensor.empty: ", "Tensor.add_: ", "new GaussianMixture: ").
     */
    public static final Pattern JAVA_CALL = Pattern.compile("([A-Z][A-Za-z0-9]*\\.[a-z][A-Za-z0-9]*_?|new [A-Z][A-Za-z0-9]*): ");

    private BadInput() {}

    /** Asserts call throws INVALID_ARGUMENT with a message naming 'argument' and containing text; returns it. */
    public static DeepKernException assertRejects(String argument, String text, Executable call) {
        return assertRejects(null, argument, text, call);
    }

    /** The same, with what (the case's description) in the failure message when nothing is thrown. */
    public static DeepKernException assertRejects(String what, String argument, String text, Executable call) {
        DeepKernException e = assertThrows(DeepKernException.class, call, what);
        assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
        assertTrue(JAVA_CALL.matcher(e.getMessage()).lookingAt(), "starts with the Java call: " + e.getMessage());
        assertTrue(e.getMessage().contains("'" + argument + "'"), "names " + argument + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(text), "says " + text + ": " + e.getMessage());
        return e;
    }
}
