package org.deepkern.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    @Test
    void aCheapCaseTimesTheSameFirstAndLast() throws Exception {
        List<String> lines = new ArrayList<>();
        Map<String, String> env = new HashMap<>();
        env.put("DEEPKERN_POISON_MEMORY", null);
        Forked.End end = Forked.run(FirstAndLast.class, env, 120, lines::add);
        assertEquals(0, end.exit(), String.join("\n", lines));
        String times = lines.stream().filter(l -> l.startsWith("relu ")).findFirst().orElse(null);
        assertNotNull(times, String.join("\n", lines));
        String[] f = times.split(" ");
        double first = Double.parseDouble(f[1]), last = Double.parseDouble(f[2]);
        double ratio = Math.max(first, last) / Math.min(first, last);
        assertTrue(ratio <= 1.5, String.format("relu first %.1f us, last %.1f us: %.2fx apart", first * 1e6, last * 1e6, ratio));
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
            try (DeviceTimer clock = new DeviceTimer(d)) {
                Bench bench = new Bench(d, Sampler.QUICK, clock, new Roofline(1e10, 1e10), Bench.MIN_CACHE_BYTES, null, true);
                List<Result> r = bench.run(cases, new Progress(null, 0));
                System.out.println("relu " + r.get(0).stats().median() + " " + r.get(r.size() - 1).stats().median());
            }
        }
    }
}
