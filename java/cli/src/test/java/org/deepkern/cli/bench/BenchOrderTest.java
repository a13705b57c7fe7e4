package org.deepkern.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.ops.Act;
import org.deepkern.testing.Forked;
import org.junit.jupiter.api.Test;

/**
 * A case's time does not depend on its place in a run: a cheap case timed first and again last in
 * one --quick run (with other cases between, which free and reuse memory) agrees within 1.5x. It
 * did not when outputs met their first page touch inside timed calls. Runs in a JVM of its own
 * without the tests' memory poisoning, which touches every page at allocation and would hide that.
 */
class BenchOrderTest {
    /**
     * Two runs at most: a shared machine can slow one sample set by 1.5x, but the order effect this
     * guards against (4x, every run) fails both.
     */
    @Test
    void aCheapCaseTimesTheSameFirstAndLast() throws Exception {
        List<String> seen = new ArrayList<>();
        for (int attempt = 0; attempt < 2; attempt++) {
            double[] t = firstAndLast();
            double ratio = Math.max(t[0], t[1]) / Math.min(t[0], t[1]);
            seen.add(String.format("relu first %.1f us, last %.1f us: %.2fx apart", t[0] * 1e6, t[1] * 1e6, ratio));
            if (ratio <= 1.5) return;
        }
        fail(String.join("; ", seen));
    }

    /** The first and the last median of one run in a fresh JVM. */
    private static double[] firstAndLast() throws Exception {
        List<String> lines = new ArrayList<>();
        Map<String, String> env = new HashMap<>();
        env.put("DEEPKERN_POISON_MEMORY", null);
        Forked.End end = Forked.run(FirstAndLast.class, env, 120, lines::add);
        assertEquals(0, end.exit(), String.join("\n", lines));
        String times = lines.stream().filter(l -> l.startsWith("relu ")).findFirst().orElse(null);
        assertNotNull(times, String.join("\n", lines));
        String[] f = times.split(" ");
        return new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2])};
    }

    /** The run: relu f32 first, a cast, a GELU backward, a layer norm, relu f32 again; prints both medians. */
    public static final class FirstAndLast {
        public static void main(String[] args) {
            Device d = Device.CPU;
            long[] shape = {256, 1024};
            BenchCase relu = new BenchCase(new ActivationOp(Act.Kind.RELU, false, false), DType.F32, shape);
            List<BenchCase> cases = List.of(relu, new BenchCase(new CastOp(DType.BF16), DType.F32, shape),
                    new BenchCase(new ActivationOp(Act.Kind.GELU, true, true), DType.BF16, shape),
                    new BenchCase(new RowOp(RowOp.Kind.LAYER_NORM), DType.F32, new long[] {1024, 2048}), relu);
            try (DeviceClock clock = new DeviceClock(d)) {
                Bench bench = new Bench(d, Sampler.QUICK, clock, new Roofline(1e10, 1e10), Bench.MIN_CACHE_BYTES, null, true);
                List<Result> r = bench.run(cases, new Progress(null, 0));
                System.out.println("relu " + r.get(0).stats().median() + " " + r.get(r.size() - 1).stats().median());
            }
        }
    }
}
