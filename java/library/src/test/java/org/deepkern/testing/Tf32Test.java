package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The reference's TF32 rounding on values whose rounding is known by hand. */
class Tf32Test {
    @Test
    void roundsToElevenSignificantBitsTiesAway() {
        assertEquals(1.0, Tf32.round(1.0));
        assertEquals(1 + 0x1p-10, Tf32.round(1 + 0x1p-11));                   // halfway: away from zero
        assertEquals(-(1 + 0x1p-10), Tf32.round(-(1 + 0x1p-11)));
        assertEquals(1.0, Tf32.round(1 + 0x1p-11 - 0x1p-23));                // below halfway: down
        assertEquals(2.0, Tf32.round(2 - 0x1p-23));                          // carries into the next binade
        assertEquals(3 * 0x1p-20, Tf32.round(3 * 0x1p-20 + 0x1p-31));
        assertEquals(0x1p-136, Tf32.round(0x1p-137));                        // a subnormal tie
    }
}
