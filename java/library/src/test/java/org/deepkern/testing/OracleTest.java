package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** The oracle's own check: a right answer lets it judge, a wrong one skips the case with its error. */
class OracleTest {
    private static final double[] EXACT = {1, 2, 3};

    @Test
    void aRightOracleJudges() {
        AtomicInteger ran = new AtomicInteger();
        Oracle o = Oracle.named("planted oracle").vet("right", EXACT, new float[] {1, 2, 3.000001f}, 1e-5, 0);
        assertTrue(o.trusted());
        o.compare(ran::incrementAndGet).judge(ran::incrementAndGet);
        assertEquals(2, ran.get(), "both comparisons ran");
    }

    @Test
    void aWrongOracleSkipsTheCaseSayingByHowMuch() {
        AtomicInteger ran = new AtomicInteger();
        Oracle o = Oracle.named("planted oracle").vet("conv2d bf16", EXACT, new float[] {1, 2, 14}, 1e-5, 0);
        assertFalse(o.trusted());
        TestAbortedException e = assertThrows(TestAbortedException.class, () -> o.judge(ran::incrementAndGet));
        assertEquals(0, ran.get(), "a wrong oracle judges nothing");
        assertTrue(e.getMessage().contains("planted oracle wrong on this CPU"), e.getMessage());
        assertTrue(e.getMessage().contains("max error 11.0"), e.getMessage());
        assertTrue(e.getMessage().contains("conv2d bf16"), e.getMessage());
    }

    @Test
    void nanNeverPasses() {
        assertFalse(Oracle.named("planted oracle").vet("nan", EXACT, new float[] {1, Float.NaN, 3}, 1, 1).trusted());
    }
}
