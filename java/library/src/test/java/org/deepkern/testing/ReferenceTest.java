package org.deepkern.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The test references themselves, against published values. */
class ReferenceTest {
    @Test
    void erfcAgainstTables() {
        // Abramowitz & Stegun 7.1 / standard tables
        assertRel(0.157299207050285, Reference.erfc(1), 1e-13);
        assertRel(1.842700792949715, Reference.erfc(-1), 1e-13);
        assertRel(4.677734981047266e-3, Reference.erfc(2), 1e-13);
        assertRel(2.209049699858544e-5, Reference.erfc(3), 1e-12);
        assertRel(1.541725790028002e-8, Reference.erfc(4), 1e-12);
        assertRel(1.537459794428035e-12, Reference.erfc(5), 1e-12);
        assertRel(2.088487583762545e-45, Reference.erfc(10), 1e-12);
        assertRel(4.069520174449590e-4, Reference.erfc(2.5), 1e-12);
        assertRel(7.430983723414128e-7, Reference.erfc(3.5), 1e-12);
        assertRel(0.520499877813047, Reference.erf(0.5), 1e-13);
    }

    @Test
    void philoxKnownAnswers() {
        // Random123 kat_vectors: counter[4] key[2] -> output[4]
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                Philox.block(new int[] {0, 0, 0, 0}, new int[] {0, 0}));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                Philox.block(new int[] {-1, -1, -1, -1}, new int[] {-1, -1}));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Philox.block(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                        new int[] {0xa4093822, 0x299f31d0}));
    }

    private static void assertRel(double expected, double actual, double rtol) {
        assertEquals(expected, actual, Math.abs(expected) * rtol);
    }
}
