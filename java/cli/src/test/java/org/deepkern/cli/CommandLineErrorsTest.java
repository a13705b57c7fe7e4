package org.deepkern.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** Every bad option or value: one line on stderr, "deepkern: <what is wrong>", exit code 2, no work done. */
class CommandLineErrorsTest {
    @TempDir
    static Path tmp;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    static Stream<Arguments> badLines() {
        Path missing = tmp.resolve("no/such/folder");
        return Stream.of(
                Arguments.of("--device nope", "--device nope: expected cpu, emu, cuda or cuda:N", new String[] {"bench", "--device", "nope", "--plan"}),
                Arguments.of("--device cuda:7", "--device cuda:7", new String[] {"bench", "--device", "cuda:7", "--plan"}),
                Arguments.of("--steps -1", "--steps -1: expected at least 1", new String[] {"sample", "--steps", "-1"}),
                Arguments.of("--steps 0", "--steps 0: expected at least 1", new String[] {"sample", "--steps", "0"}),
                Arguments.of("--steps 5000", "--steps 5000", new String[] {"sample", "--steps", "5000"}),
                Arguments.of("--steps abc", "'abc' is not an int", new String[] {"sample", "--steps", "abc"}),
                Arguments.of("--sampler foo", "--sampler foo: expected one of", new String[] {"sample", "--sampler", "foo"}),
                Arguments.of("--eta 2", "--eta 2.0: expected 0 <= eta <= 1", new String[] {"sample", "--eta", "2"}),
                Arguments.of("--target ring9", "--target ring9: expected one of [ring8, gmm16]", new String[] {"sample", "--target", "ring9"}),
                Arguments.of("--n -5", "--n -5: expected at least 1 sample", new String[] {"sample", "--n", "-5"}),
                Arguments.of("--n 0", "--n 0: expected at least 1 sample", new String[] {"sample", "--n", "0"}),
                Arguments.of("--sigma-max 0", "--sigma-max 0.0", new String[] {"sample", "--sampler", "em-ve", "--sigma-max", "0"}),
                Arguments.of("sample --out into a missing folder", "does not exist",
                        new String[] {"sample", "--out", missing.resolve("s.png").toString()}),
                Arguments.of("bench --out into a missing folder", "does not exist",
                        new String[] {"bench", "--quick", "--out", missing.resolve("bench").toString()}),
                Arguments.of("bench --peer-times missing", "--peer-times", new String[] {"bench", "--quick", "--peer-times",
                        missing.resolve("peers.tsv").toString()}),
                Arguments.of("rf --net vgg19", "--net vgg19: expected one of [vgg16, resnet50, fpn, pnet, rnet, onet] or all",
                        new String[] {"rf", "--net", "vgg19"}),
                Arguments.of("rf --size 0 5", "--size 0 5: expected positive sides", new String[] {"rf", "--size", "0", "5"}),
                Arguments.of("rf --size 5", "requires at least 2 values", new String[] {"rf", "--size", "5"}),
                Arguments.of("checkpoint-bench --model rnn", "--model rnn: expected mlp or transformer",
                        new String[] {"checkpoint-bench", "--model", "rnn"}),
                Arguments.of("checkpoint-bench --segments 99", "--segments 99: expected 0 or 1..4",
                        new String[] {"checkpoint-bench", "--blocks", "4", "--segments", "99"}),
                Arguments.of("checkpoint-bench --steps 1", "--steps 1: expected at least 2", new String[] {"checkpoint-bench", "--steps", "1"}),
                Arguments.of("train-diffusion --lr 0", "--lr 0.0: expected a finite value > 0", new String[] {"train-diffusion", "--lr", "0"}),
                Arguments.of("train-diffusion --target ring9", "--target ring9", new String[] {"train-diffusion", "--target", "ring9"}),
                Arguments.of("train-diffusion --steps 0", "--steps 0: expected 1..1000", new String[] {"train-diffusion", "--steps", "0"}),
                Arguments.of("train-flow --blocks 0", "--blocks 0: expected at least 1", new String[] {"train-flow", "--blocks", "0"}),
                Arguments.of("train-flow --batch 1", "--batch 1: expected at least 2", new String[] {"train-flow", "--batch", "1"}),
                Arguments.of("train-flow --out into a missing folder", "does not exist",
                        new String[] {"train-flow", "--out", missing.resolve("f.png").toString()}),
                Arguments.of("unknown op", "matches no op", new String[] {"bench", "--ops", "no_such_op"}),
                Arguments.of("unknown option", "Unknown option: '--frobnicate'", new String[] {"bench", "--frobnicate"}),
                Arguments.of("unknown command", "Unmatched argument", new String[] {"frobnicate"}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badLines")
    void badInputIsOneLineAndExitCode2(String name, String says, String[] args) {
        Run r = run(args);
        assertEquals(2, r.exit(), name + ": " + r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().startsWith("deepkern: "), r.err());
        assertTrue(r.err().contains(says), "says " + says + ": " + r.err());
        assertTrue(r.out().isEmpty(), "no work done: " + r.out());
    }

    @Test
    void anUnwritableOutFolderIsRefused() throws IOException {
        Path ro = Files.createDirectory(tmp.resolve("read-only"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("r-xr-xr-x")));
        Assumptions.assumeFalse(Files.isWritable(ro), "running as a user who may write anywhere (root)");
        Run r = run("sample", "--out", ro.resolve("s.png").toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("is not writable"), r.err());
    }

    @Test
    void infoNamesTheMissingDriver() {
        Assumptions.assumeFalse(DeepKern.devices().stream().anyMatch(d -> d.type() == Device.Type.CUDA), "a GPU is here");
        Run r = run("info");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("no NVIDIA driver found") || r.out().contains("not built"), r.out());
        assertTrue(!r.out().contains("insufficient"), r.out());
    }
}
