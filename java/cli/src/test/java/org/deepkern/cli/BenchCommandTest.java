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

    /** Parameter-list shapes reach the external peer whole: a convolution's geometry, a GEMM's M, N, K. */
    @Test
    void planCarriesConvolutionAndGemmParameters() {
        String plan = stdout(() -> assertEquals(0, Main.run("bench", "--quick", "--ops", "conv2d_dw,matmul", "--plan")));
        assertEquals(3, plan.lines().count(), plan);
        assertTrue(plan.contains("conv2d_dw:f32:2x56x56x64x64x3x3x1x1\tconv2d_dw\tf32\tf32\t2x56x56x64x64x3x3x1x1"), plan);
        assertTrue(plan.contains("matmul:f32:1024x1024x1024\tmatmul\tf32\tf32\t1024x1024x1024"), plan);
    }

    @Test
    void unknownOpIsAUsageError() {
        assertEquals(2, Main.run("bench", "--ops", "no_such_op", "--plan"));
    }
}
