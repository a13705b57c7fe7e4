package org.deepkern.fuzz;

import java.io.PrintStream;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import org.deepkern.testing.Memory;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;

/**
 * The API fuzzer, run in its own JVM by {@link ApiFuzzTest} (a crash or a hang must not take the
 * test JVM with it): {@code Fuzz SEED CALLS [ONLY]} draws CALLS random calls of the public ops
 * from SEED (call i from its own seed, so {@code ONLY = i} replays one), prints each before running
 * it, and reports as FAIL a call that throws anything but a DeepKernException naming the Java call
 * (invalid argument, not supported or out of memory), that gives a non-finite output from finite
 * inputs and moderate parameters, or whose output differs between cpu and emu; at the end, memory
 * still held by either device's allocator is a leak. Exits 0 when nothing failed.
 */
public final class Fuzz {
    private static final Device[] DEVICES = {Device.CPU, Device.EMU};
    /** Calls slower than this (both backends) are listed: the fuzz's time budget goes to many small calls. */
    private static final long SLOW_MS = 500;
    private static Device current = Device.CPU, other = Device.EMU;

    private Fuzz() {}

    /** The device the running call is on (for ops that make tensors themselves). */
    static Device device() {
        return current;
    }

    static Device otherDevice() {
        return other;
    }

    /** The seed of call i of a run. */
    static long callSeed(long seed, int i) {
        long z = seed + 0x9E3779B97F4A7C15L * (i + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public static void main(String[] args) {
        long seed = Long.parseLong(args[0]);
        int calls = Integer.parseInt(args[1]);
        int only = args.length > 2 ? Integer.parseInt(args[2]) : -1;
        PrintStream out = System.out;
        long[] baseline = new long[DEVICES.length];
        for (int j = 0; j < DEVICES.length; j++) baseline[j] = Memory.settledInUse(DEVICES[j]);
        int failures = 0, rejected = 0, compared = 0, skipped = 0;
        for (int i = 0; i < calls; i++) {
            if (only >= 0 && i != only) continue;
            long s = callSeed(seed, i);
            Draw d = new Draw(s);
            Ops.Op op = Ops.ALL.get(d.rng.nextInt(Ops.ALL.size()));
            Ops.Body body = op.draw().apply(d);
            if (d.largeOutput() || d.tensors.stream().anyMatch(Arg::large)) {
                skipped++;  // legitimately large arguments: making them would be the fuzz's own cost
                continue;
            }
            int first = (int) (s >>> 63);
            String call = "call " + i + ": " + op.name() + " on " + DEVICES[first] + " (" + d.text() + ")";
            out.println("CALL " + call);
            out.flush();
            long t0 = System.nanoTime();
            Outcome a = run(body, d, DEVICES[first], DEVICES[1 - first]);
            String failure = a.failure;
            if (failure == null && a.rejected) rejected++;
            if (failure == null && !a.rejected) {
                boolean finiteInputs = d.modest() && d.tensors.stream().allMatch(t -> t.given() || t.kind() == Arg.Kind.ABSENT);
                if (finiteInputs) failure = nonFinite(a.outputs);
                if (failure == null) {
                    Outcome b = run(body, d, DEVICES[1 - first], DEVICES[first]);
                    failure = agree(a, b, DEVICES[first], DEVICES[1 - first], d.modest());
                    compared++;
                }
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (ms > SLOW_MS) out.println("SLOW " + call + ": " + ms + " ms");
            if (failure != null) {
                failures++;
                out.println("FAIL " + call + ": " + failure);
            }
        }
        for (int j = 0; j < DEVICES.length; j++) {
            long inUse = DeepKern.memoryStats(DEVICES[j]).inUse();
            if (inUse != baseline[j]) {
                failures++;
                out.println("FAIL leak: " + DEVICES[j] + " holds " + (inUse - baseline[j]) + " bytes more than before the calls");
            }
        }
        out.printf("DONE seed %d: %d calls, %d skipped (large arguments), %d rejected, %d compared across backends, "
                + "%d failures%n", seed, only >= 0 ? 1 : calls, skipped, rejected, compared, failures);
        out.flush();
        System.exit(failures == 0 ? 0 : 1);
    }

    /** A call's result: rejected with a good exception, failed (why), or its outputs. */
    record Outcome(boolean rejected, String failure, List<Output> outputs) {}

    record Output(String name, DType dtype, float[] values) {}

    static Outcome run(Ops.Body body, Draw d, Device device, Device otherDevice) {
        current = device;
        other = otherDevice;
        try (Scope scope = Scope.open()) {
            Tensor[] t = new Tensor[d.tensors.size()];
            for (int j = 0; j < t.length; j++) t[j] = d.tensors.get(j).make(device, otherDevice);
            Object result = body.run(t);
            List<Output> outputs = new ArrayList<>();
            collect("result", result, outputs);
            return new Outcome(false, null, outputs);
        } catch (DeepKernException e) {
            String why = badException(e);
            return new Outcome(why == null, why, List.of());
        } catch (Throwable e) {
            StackTraceElement[] st = e.getStackTrace();
            return new Outcome(false, "threw " + e + (st.length > 0 ? " at " + st[0] : ""), List.of());
        }
    }

    /** Why a DeepKernException is not an acceptable answer to a bad call, or null when it is. */
    static String badException(DeepKernException e) {
        String m = e.getMessage();
        if (e.status() != Status.INVALID_ARGUMENT && e.status() != Status.NOT_SUPPORTED && e.status() != Status.OUT_OF_MEMORY)
            return "unexpected status " + e.status() + ": " + m;
        if (m == null || !BadInput.JAVA_CALL.matcher(m).lookingAt()) return "message does not name the Java call: " + m;
        if (e.status() == Status.INVALID_ARGUMENT && !m.contains("argument '")) return "message names no argument: " + m;
        return null;
    }

    private static void collect(String name, Object r, List<Output> out) throws ReflectiveOperationException {
        if (r instanceof Tensor t) {
            out.add(new Output(name, t.dtype(), t.toFloatArray()));
        } else if (r instanceof Tensor[] ts) {
            for (int i = 0; i < ts.length; i++) if (ts[i] != null) collect(name + "[" + i + "]", ts[i], out);
        } else if (r instanceof Record rec) {
            for (RecordComponent c : rec.getClass().getRecordComponents()) collect(c.getName(), c.getAccessor().invoke(rec), out);
        }
    }

    static String nonFinite(List<Output> outputs) {
        for (Output o : outputs) {
            if (Ops.MAY_BE_INFINITE.contains(o.name())) continue;
            for (int i = 0; i < o.values().length; i++)
                if (!Float.isFinite(o.values()[i])) return "output " + o.name() + "[" + i + "] = " + o.values()[i]
                        + " from finite inputs";
        }
        return null;
    }

    /**
     * cpu and emu must answer alike: both reject, or outputs of the same sizes, equal to a tolerance by
     * dtype where the parameters are moderate (an extreme one, a scale of 1e30, amplifies rounding).
     */
    static String agree(Outcome a, Outcome b, Device da, Device db, boolean values) {
        if (b.failure != null) return "on " + db + ": " + b.failure;
        if (b.rejected) return "accepted on " + da + " but rejected on " + db;
        if (a.outputs.size() != b.outputs.size()) return a.outputs.size() + " outputs on " + da + ", " + b.outputs.size() + " on " + db;
        for (int j = 0; j < a.outputs.size(); j++) {
            Output x = a.outputs.get(j), y = b.outputs.get(j);
            if (x.values().length != y.values().length) return x.name() + ": " + x.values().length + " vs " + y.values().length + " elements";
            if (!values) continue;
            double tol = switch (x.dtype()) {
                case BF16 -> 4e-2;
                case F16 -> 8e-3;
                default -> 2e-3;
            };
            double scale = 1;
            for (float v : x.values()) if (Float.isFinite(v)) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < x.values().length; i++) {
                float u = x.values()[i], v = y.values()[i];
                boolean same = Float.compare(u, v) == 0 || Math.abs(u - v) <= tol * scale;
                if (!same) return x.name() + "[" + i + "]: " + u + " on " + da + ", " + v + " on " + db;
            }
        }
        return null;
    }
}
