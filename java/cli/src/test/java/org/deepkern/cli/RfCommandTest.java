package org.deepkern.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deepkern.cli.CommandLineErrorsTest.Run;
import org.junit.jupiter.api.Test;

/** {@code deepkern rf}: the tables of the known nets, at their own sizes or a given one. */
class RfCommandTest {
    @Test
    void printsVgg16sTable() {
        Run r = CommandLineErrorsTest.run("rf", "--net", "vgg16");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("layer "), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("conv5_3 +conv +3 +1 +1 +1 +14x14 +196 +16 +7\\.5")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("pool5 +maxpool +2 +2 +0 +1 +7x7 +212 +32 +15\\.5")), r.out());
    }

    @Test
    void printsEveryNetAtItsOwnSize() {
        Run r = CommandLineErrorsTest.run("rf");
        assertEquals(0, r.exit(), r.err());
        for (String header : new String[] {"vgg16 at 224x224:", "resnet50 at 224x224:", "fpn at 224x224:", "pnet at 12x12:",
                "rnet at 24x24:", "onet at 48x48:"}) assertTrue(r.out().contains(header + "\n"), header);
        assertTrue(r.out().lines().anyMatch(l -> l.matches("layer4\\.2 +merge .* 7x7 +427 +32 +0")), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("conv3 +conv +3 +1 +0 +1 +1x1 +12 +2 +5\\.5")), "P-Net's 12 px window");
    }

    @Test
    void takesTheSize() {
        Run r = CommandLineErrorsTest.run("rf", "--net", "pnet", "--size", "100", "60");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("conv3 +conv +3 +1 +0 +1 +45x25 +12 +2 +5\\.5")), r.out());
    }

    @Test
    void aSizeTheStackCannotAlignIsOneLineAndNoTable() {
        Run r = CommandLineErrorsTest.run("rf", "--net", "all", "--size", "800", "1333");
        assertEquals(1, r.exit(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("deepkern: ReceptiveField.merge: argument 'others': 'fpn.add3' merges misaligned branches"), r.err());
        assertTrue(r.out().isEmpty(), r.out());
    }
}
