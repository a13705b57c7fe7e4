package org.deepkern.gemm;

import org.deepkern.ops.F;
import static org.deepkern.testing.RowChecks.normal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;

/**
 * Not a test: f32 matmul on the cpu backend against torch.matmul on the CPU with as many threads,
 * runs interleaved, best of reps each, with a max-difference check beside every timing. Reports
 * wall time and the CPU time the process spent (all threads, native ones included, from
 * /proc/self/task/N/schedstat), which a busy shared machine disturbs much less than wall time. Run
 * with the test classpath:
 * {@code DEEPKERN_NUM_THREADS=t java -cp ... org.deepkern.gemm.MatmulCpuSpeed t [reps]}.
 */
public final class MatmulCpuSpeed {
    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        torch.set_num_threads(threads);
        System.out.println("threads " + threads + ", torch " + torch.get_num_threads());
        int[][] shapes = {{512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 512}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            float[] av = normal(m * k, 1, 0, 1), bv = normal(k * n, 2, 0, 1);
            double flops = 2.0 * m * n * k;
            try (Scope scope = Scope.open(); PointerScope ps = new PointerScope()) {
                Tensor a = Tensor.of(av, new long[] {m, k}, Device.CPU), b = Tensor.of(bv, new long[] {k, n}, Device.CPU);
                org.bytedeco.pytorch.Tensor ta = torch.from_blob(new FloatPointer(av), m, k).clone();
                org.bytedeco.pytorch.Tensor tb = torch.from_blob(new FloatPointer(bv), k, n).clone();
                double ours = Double.MAX_VALUE, theirs = Double.MAX_VALUE, oursCpu = Double.MAX_VALUE,
                        theirsCpu = Double.MAX_VALUE;
                float[] mine = null, ref = null;
                for (int rep = 0; rep < reps; rep++) {
                    long c0 = cpuNanos(), t0 = System.nanoTime();
                    try (Tensor c = F.matmul(a, b)) {
                        DeepKern.synchronize(Device.CPU);
                        ours = Math.min(ours, (System.nanoTime() - t0) * 1e-9);
                        oursCpu = Math.min(oursCpu, (cpuNanos() - c0) * 1e-9);
                        if (rep == 0) mine = c.toFloatArray();
                    }
                    c0 = cpuNanos();
                    t0 = System.nanoTime();
                    org.bytedeco.pytorch.Tensor tc = torch.matmul(ta, tb);
                    theirs = Math.min(theirs, (System.nanoTime() - t0) * 1e-9);
                    theirsCpu = Math.min(theirsCpu, (cpuNanos() - c0) * 1e-9);
                    if (rep == 0) {
                        ref = new float[m * n];
                        tc.contiguous().data_ptr_float().get(ref);
                    }
                }
                double diff = 0;
                for (int i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(ref[i] - mine[i]));
                System.out.printf("%dx%dx%d: wall deepkern %.2f ms (%.1f GFLOP/s), torch %.2f ms (%.1f GFLOP/s), "
                        + "deepkern/torch %.2f; process cpu deepkern %.2f ms, torch %.2f ms, deepkern/torch %.2f; "
                        + "max |diff| %.2e%n", m, n, k, ours * 1e3, flops / ours * 1e-9, theirs * 1e3,
                        flops / theirs * 1e-9, ours / theirs, oursCpu * 1e3, theirsCpu * 1e3, oursCpu / theirsCpu, diff);
            }
        }
    }

    /** Nanoseconds on a CPU summed over the process's threads (Linux schedstat). */
    static long cpuNanos() {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.mapToLong(t -> {
                try {
                    return Long.parseLong(Files.readString(t.resolve("schedstat")).split(" ")[0]);
                } catch (IOException | RuntimeException e) {
                    return 0;  // a thread that ended meanwhile
                }
            }).sum();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
