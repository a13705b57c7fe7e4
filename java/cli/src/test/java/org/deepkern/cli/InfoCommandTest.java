package org.deepkern.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class InfoCommandTest {
    @Test
    void infoCommandListsCpu() {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        int code;
        try {
            code = Main.run("info");
        } finally {
            System.setOut(saved);
        }
        String out = buf.toString();
        assertEquals(0, code, out);
        assertTrue(out.contains("cpu"), out);
        assertTrue(out.contains("default device:"), out);
        assertTrue(out.contains("cuda"), out);
    }
}
