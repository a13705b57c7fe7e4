package org.deepkern.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.deepkern.cli.CommandLineErrorsTest.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training proofs run end to end on small settings, print their tables and write their PNGs. */
class TrainCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void checkpointBenchReportsEqualGradients() throws Exception {
        Path png = tmp.resolve("ckpt.png");
        Run r = CommandLineErrorsTest.run("checkpoint-bench", "--device", "cpu", "--blocks", "9", "--width", "16", "--batch", "8",
                "--steps", "2", "--out", png.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("| 3 checkpointed segments |"), r.out());
        assertTrue(r.out().contains("bit-identical: yes"), r.out());
        assertTrue(Files.size(png) > 1000);
    }

    @Test
    void checkpointBenchRunsTransformerBlocksOnTheEmulator() {
        Run r = CommandLineErrorsTest.run("checkpoint-bench", "--device", "emu", "--model", "transformer", "--blocks", "2",
                "--width", "64", "--batch", "8", "--steps", "2");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("bit-identical: yes"), r.out());
    }

    @Test
    void trainDiffusionScoresBothSamplers() throws Exception {
        Path png = tmp.resolve("diffusion.png");
        Run r = CommandLineErrorsTest.run("train-diffusion", "--device", "cpu", "--iterations", "20", "--width", "32", "--batch", "64",
                "--steps", "10", "--n", "200", "--out", png.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("| ddim |") && r.out().contains("| flow-euler |"), r.out());
        assertTrue(Files.size(png) > 1000);
    }

    @Test
    void trainFlowLowersTheNll() throws Exception {
        Path png = tmp.resolve("flow.png");
        Run r = CommandLineErrorsTest.run("train-flow", "--device", "cpu", "--blocks", "2", "--width", "16", "--iterations", "30",
                "--batch", "64", "--n", "500", "--out", png.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("held-out NLL") && r.out().contains("exact entropy"), r.out());
        assertTrue(Files.size(png) > 1000);
    }
}
