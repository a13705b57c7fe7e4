package org.deepkern.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A main class run in a JVM of its own, with this one's class path and native cache: for what must
 * not run in the test JVM (a crash would take it down) or must run in another environment. Its
 * output lines go to a consumer as they come; a child silent for longer than the timeout is killed.
 */
public final class Forked {
    private Forked() {}

    /** How the child ended: its exit code, or hung (killed after the timeout). */
    public record End(boolean hung, int exit) {}

    /**
     * Runs main with args; env entries are set in the child's environment, and a null value removes
     * the variable (the tests' DEEPKERN_POISON_MEMORY, say).
     */
    public static End run(Class<?> main, Map<String, String> env, int timeoutS, Consumer<String> lines, String... args)
            throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-Xss4m",
                "-cp", System.getProperty("java.class.path")));
        String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
        if (cache != null) cmd.add(1, "-Dorg.bytedeco.javacpp.cachedir=" + cache);
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        env.forEach((k, v) -> {
            if (v == null) pb.environment().remove(k);
            else pb.environment().put(k, v);
        });
        Process p = pb.start();
        AtomicLong lastLine = new AtomicLong(System.nanoTime());
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lastLine.set(System.nanoTime());
                    lines.accept(line);
                }
            } catch (IOException e) {
                // the process was killed
            }
        });
        reader.start();
        boolean hung = false;
        while (!p.waitFor(200, TimeUnit.MILLISECONDS)) {
            if (System.nanoTime() - lastLine.get() > TimeUnit.SECONDS.toNanos(timeoutS)) {
                hung = true;
                p.destroyForcibly().waitFor();
                break;
            }
        }
        reader.join(10_000);
        return new End(hung, p.exitValue());
    }
}
