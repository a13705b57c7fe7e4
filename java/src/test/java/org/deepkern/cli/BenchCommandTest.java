package org.deepkern.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

/** The bench command's cheap paths; the timed run itself is CI's `./deepkern bench --quick`. */
class BenchCommandTest {
    private static String stdout(Runnable r) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            r.run();
        } finally {
            System.setOut(saved);
        }
        return buf.toString();
    }

    @Test
    void planListsTheSelectedCasesForAnExternalPeer() {
        String plan = stdout(() -> assertEquals(0, Main.run("bench", "--quick", "--ops", "gelu_tanh,cast", "--plan")));
        assertEquals(5, plan.lines().count(), plan);  // header + 2 gelu_tanh + 2 casts
        assertTrue(plan.contains("gelu_tanh:bf16:256x1024\tgelu_tanh\tbf16\tbf16\t256x1024"), plan);
    }

    @Test
    void unknownOpIsAUsageError() {
        assertEquals(2, Main.run("bench", "--ops", "no_such_op", "--plan"));
    }
}
