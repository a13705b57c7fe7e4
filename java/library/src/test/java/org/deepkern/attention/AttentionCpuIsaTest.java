package org.deepkern.attention;

import static org.deepkern.attention.AttentionChecks.problem;
import static org.deepkern.attention.AttentionChecks.withBias;
import static org.deepkern.attention.AttentionChecks.withKeyLengths;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.attention.AttentionReference.Problem;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import org.deepkern.testing.Forked;
import org.junit.jupiter.api.Test;

/**
 * The cpu attention under each path DEEPKERN_CPU_ISA selects, each in a JVM of its own: the f32
 * products of the sse2, avx2 and avx512 copies, and amx, where the bf16 forward runs on AMX tiles
 * (on a CPU without AMX, amx is the avx512 copy again). Every dtype, forward and backward, against
 * the double reference through AttentionChecks, on shapes at the edges of the 64 x 64 tile pairs
 * and of AMX's 16-row / 32-element tiles: sequence lengths that are no multiple of 16, 32 or 64,
 * every head dim, GQA, both causal alignments with Lq != Lk (rows that see no key), key lengths
 * (0 and one on a tile boundary), a bias with -inf. Then that amx is a path of its own exactly when
 * the CPU has AMX: its bf16 output differs from the avx512 copy's (P rounded to bf16 for P V).
 */
class AttentionCpuIsaTest {
    private static final CausalMask NONE = CausalMask.NONE, TL = CausalMask.TOP_LEFT, BR = CausalMask.BOTTOM_RIGHT;

    static List<Problem> problems() {
        return List.of(
                problem(1, 1, 1, 1, 1, 64, NONE),
                problem(1, 2, 1, 100, 77, 64, NONE),
                problem(2, 4, 2, 130, 200, 128, TL),
                problem(1, 2, 2, 200, 130, 96, BR),
                withKeyLengths(problem(2, 2, 1, 65, 129, 32, NONE), 129, 64),
                withBias(problem(1, 2, 1, 70, 150, 256, TL), new long[] {70, 150}, 21, 3),
                withBias(withKeyLengths(problem(2, 2, 2, 17, 64, 128, BR), 64, 0), new long[] {2, 1, 17, 64}, 22, 0),
                problem(1, 8, 1, 33, 250, 64, BR));
    }

    @Test
    void everyPathMatchesTheReference() throws Exception {
        for (String isa : new String[] {"sse2", "avx2", "avx512", "amx"}) {
            String out = fork(isa, "check");
            assertTrue(out.contains("ok"), isa + ":\n" + out);
        }
    }

    @Test
    void amxIsItsOwnPathWhereTheCpuHasIt() throws Exception {
        String cpuinfo = Files.exists(Path.of("/proc/cpuinfo")) ? Files.readString(Path.of("/proc/cpuinfo")) : "";
        boolean amx = cpuinfo.contains(" amx_bf16") && cpuinfo.contains(" amx_tile") && cpuinfo.contains(" avx512bw");
        String f32Products = bits(fork("avx512", "bits")), tiles = bits(fork("amx", "bits"));
        if (amx) assertNotEquals(f32Products, tiles, "DEEPKERN_CPU_ISA=amx ran the f32 products");
        else assertEquals(f32Products, tiles, "no AMX here, yet amx differs from avx512");
    }

    private static String bits(String out) {
        return out.lines().filter(l -> l.startsWith("bits ")).findFirst().orElse("none\n" + out);
    }

    private static String fork(String isa, String mode) throws Exception {
        StringBuilder out = new StringBuilder();
        Forked.End end = Forked.run(Main.class, Map.of("DEEPKERN_CPU_ISA", isa), 300, l -> out.append(l).append('\n'), mode);
        assertFalse(end.hung(), isa + ": hung\n" + out);
        assertEquals(0, end.exit(), isa + ":\n" + out);
        return out.toString();
    }

    /** The forked side: "check" runs every problem in every dtype, "bits" prints a hash of a bf16 forward's bits. */
    public static final class Main {
        public static void main(String[] args) {
            if (args[0].equals("check")) {
                long seed = 900;
                for (Problem p : problems())
                    for (DType t : new DType[] {DType.BF16, DType.F16, DType.F32})
                        AttentionChecks.check(Device.CPU, t, p, seed++, seed % 2 == 0, true, true);
                System.out.println("ok");
                return;
            }
            long hash = 0;
            try (Scope s = Scope.open()) {
                AttentionChecks.Inputs in = AttentionChecks.inputs(Device.CPU, DType.BF16, problems().get(2), 5, true, true);
                AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
                for (float v : r.out().toFloatArray()) hash = hash * 31 + Float.floatToRawIntBits(v);
            }
            System.out.println("bits " + hash);
        }
    }
}
