package org.deepkern.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.deepkern.testing.Forked;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The public API under random calls ({@link Fuzz}: every op of F, Tensor, Detect and Decoders, random shapes with
 * empty dims, extreme parameters, nulls, closed and misplaced tensors), each seed in a forked JVM
 * watched from here: a crash (the JVM dies), a hang (no call finishes within {@link #CALL_TIMEOUT_S}
 * seconds), a bad exception, a non-finite result from finite input, a cpu/emu disagreement or a
 * leak fails the test, naming the call and how to replay it. CI runs the fixed seeds; set
 * {@code -Ddeepkern.fuzz.seed=S} (and {@code -Ddeepkern.fuzz.calls=N}) to run another.
 */
class ApiFuzzTest {
    static final int CALL_TIMEOUT_S = 60;
    static final int CALLS = Integer.getInteger("deepkern.fuzz.calls", 5000);

    static Stream<Long> seeds() {
        String s = System.getProperty("deepkern.fuzz.seed");
        return s != null ? Stream.of(Long.parseLong(s)) : LongStream.of(1, 2).boxed();
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void randomCallsNeitherCrashNorHangNorLeak(long seed) throws Exception {
        Verdict v = watch(Fuzz.class, CALL_TIMEOUT_S, Long.toString(seed), Integer.toString(CALLS));
        String replay = " (replay: mvn -pl java/library test -Dtest=ApiFuzzTest -Ddeepkern.fuzz.seed=" + seed
                + ", or java ... " + Fuzz.class.getName() + " " + seed + " " + CALLS + " CALL_INDEX)";
        if (v.hung()) fail("hang: no call finished in " + CALL_TIMEOUT_S + " s; the last one started was " + v.lastCall() + replay);
        if (v.done() == null) fail("the fuzz JVM died (exit " + v.exit() + ") during " + v.lastCall() + replay);
        assertTrue(v.failures().isEmpty(), v.failures().size() + " failed calls" + replay + ":\n" + String.join("\n", v.failures()));
        System.out.println("api fuzz " + v.done());
    }

    /** The watch itself: a child that dies mid-call and one that stops answering are both caught. */
    @Test
    void theWatchCatchesACrashAndAHang() throws Exception {
        Verdict crash = watch(Misbehave.class, 10, "crash");
        assertTrue(!crash.hung() && crash.done() == null && crash.exit() != 0, crash.toString());
        assertTrue(crash.lastCall().contains("call 1"), crash.toString());
        Verdict hang = watch(Misbehave.class, 2, "hang");
        assertTrue(hang.hung() && hang.lastCall().contains("call 1"), hang.toString());
    }

    /** A child that prints two calls, then crashes or hangs in the second. */
    public static final class Misbehave {
        public static void main(String[] args) throws InterruptedException {
            System.out.println("CALL call 0");
            System.out.println("CALL call 1");
            System.out.flush();
            if (args[0].equals("crash")) Runtime.getRuntime().halt(134);
            Thread.sleep(60_000);
        }
    }

    /** What a watched child did: hung, died (no DONE line) or finished, and the calls that failed. */
    record Verdict(boolean hung, int exit, String done, String lastCall, List<String> failures) {}

    /** Runs main in a JVM of its own (memory poisoned) and follows its CALL / FAIL / DONE lines. */
    static Verdict watch(Class<?> main, int timeoutS, String... args) throws Exception {
        List<String> failures = new ArrayList<>();
        AtomicReference<String> lastCall = new AtomicReference<>("(before the first call)"), done = new AtomicReference<>();
        Forked.End end = Forked.run(main, Map.of("DEEPKERN_POISON_MEMORY", "1"), timeoutS, line -> {
            if (line.startsWith("CALL ")) lastCall.set(line.substring(5));
            else if (line.startsWith("FAIL ")) failures.add(line.substring(5));
            else if (line.startsWith("DONE ")) done.set(line.substring(5));
        }, args);
        return new Verdict(end.hung(), end.exit(), done.get(), lastCall.get(), failures);
    }
}
