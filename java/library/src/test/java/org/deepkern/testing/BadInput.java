package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.junit.jupiter.api.DynamicTest;
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

    /** A call made on a device. */
    public interface DeviceCall {
        void run(Device device) throws Throwable;
    }

    /** One row of a bad-input table: the case, the argument it must name, what the message says, the call. */
    public record Case(String what, String argument, String says, DeviceCall call) {}

    /** Every row of the table on every host device, each in a scope of its own: one test per pair. */
    public static Stream<DynamicTest> onHostDevices(List<Case> table) {
        return TestDevices.host().flatMap(d -> table.stream().map(b -> dynamicTest(b.what() + " on " + d, () -> {
            try (Scope s = Scope.open()) {
                assertRejects(b.what(), b.argument(), b.says(), () -> b.call().run(d));
            }
        })));
    }
}
