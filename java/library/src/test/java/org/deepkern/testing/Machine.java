package org.deepkern.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The machine the tests run on, for messages that depend on it. */
public final class Machine {
    private Machine() {}

    /** The CPU's model name from /proc/cpuinfo, or the JVM's architecture where there is none. */
    public static String cpu() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse(System.getProperty("os.arch"));
        } catch (IOException e) {
            return System.getProperty("os.arch");
        }
    }
}
