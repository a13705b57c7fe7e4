package org.deepkern.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.DeviceInfo;
import org.deepkern.cli.bench.Bench;
import org.deepkern.cli.bench.BenchCase;
import org.deepkern.cli.bench.Cases;
import org.deepkern.cli.bench.Ceilings;
import org.deepkern.cli.bench.DeviceClock;
import org.deepkern.cli.bench.Peer;
import org.deepkern.cli.bench.PeerTimes;
import org.deepkern.cli.bench.Progress;
import org.deepkern.cli.bench.Report;
import org.deepkern.cli.bench.Result;
import org.deepkern.cli.bench.Roofline;
import org.deepkern.cli.bench.RooflinePlot;
import org.deepkern.cli.bench.RunInfo;
import org.deepkern.cli.bench.Sampler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepkern bench}: every op on one device, each checked for correctness before it is
 * timed, against the device's measured roofline and a peer (PyTorch) in the same run.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Check and time every op on a device against its measured roofline and PyTorch.")
final class BenchCommand implements Callable<Integer> {
    @Mixin
    DeviceOption device;

    @Option(names = "--ops", split = ",", description = "only these ops (comma-separated names)")
    List<String> ops = new ArrayList<>();

    @Option(names = "--quick", description = "one shape per op and short sampling (under a minute on 2 cores)")
    boolean quick;

    @Option(names = "--out", description = "write results.json, table.md and roofline.png into this folder")
    Path out;

    @Option(names = "--check-only", description = "run the correctness gate only, no timing (for compute-sanitizer)")
    boolean checkOnly;

    @Option(names = "--peer-times", description = "peer times measured elsewhere (benchmarks/gpu/torch_peer.py)")
    Path peerTimes;

    @Option(names = "--plan", description = "print the selected cases for an external peer and exit")
    boolean plan;

    @Option(names = "--threads", split = ",", paramLabel = "N",
            description = "run at N threads, ours and PyTorch's alike, each N (comma-separated) in a JVM of its own"
                    + " (the pool size, DEEPKERN_NUM_THREADS, is read once); --out gets a folder threads-N per N")
    List<Integer> threads = new ArrayList<>();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (!threads.isEmpty() && !plan && !runsHere()) return perThreadCount();
        Device d = device.get();
        List<BenchCase> cases;
        try {
            cases = Cases.select(Cases.all(quick, d.type() == Device.Type.CUDA), ops);
        } catch (IllegalArgumentException e) {
            throw Main.bad(spec, e.getMessage());
        }
        if (out != null) OutputPath.folder(spec, "--out", out);
        if (peerTimes != null && !Files.isReadable(peerTimes))
            throw Main.bad(spec, "--peer-times " + peerTimes + ": no readable file there");
        PrintStream o = System.out;
        if (plan) {
            o.print(PeerTimes.plan(cases));
            return 0;
        }
        DeviceInfo info = DeepKern.deviceInfo(d);
        Sampler sampler = quick ? Sampler.QUICK : Sampler.FULL;
        try (DeviceClock clock = new DeviceClock(d)) {
            Roofline start = checkOnly ? new Roofline(1, 1) : Ceilings.measure(d, info.l2CacheBytes(), sampler, clock);
            String commit = commit();
            o.printf("deepkern %s bench on %s: %s, %d %s; commit %s, %s%n", DeepKern.version(), d, info.name(),
                    info.multiprocessors(), d.type() == Device.Type.CUDA ? "SMs" : "threads", commit, LocalDate.now());
            Peer peer = checkOnly ? null : peer(d, info.multiprocessors(), o);
            Bench bench = new Bench(d, sampler, clock, start, info.l2CacheBytes(), peer, !checkOnly);
            List<Result> results = bench.run(cases, new Progress(System.err, bench.steps(cases)));
            Roofline end = checkOnly ? start : Ceilings.measure(d, info.l2CacheBytes(), sampler, clock);
            RunInfo run = new RunInfo(DeepKern.version(), commit, LocalDate.now().toString(), d.toString(), info.name(),
                    info.multiprocessors(), start, end);
            results = results.stream().map(r -> r.withRoofline(run.roofline())).toList();
            o.println();
            if (!checkOnly) o.println(run.ceilingsLine());
            o.print(Report.text(results));
            if (out != null && !checkOnly) write(run, results);
            return results.stream().allMatch(Result::passed) ? 0 : 1;
        }
    }

    /** Whether this JVM's pool already has the one thread count asked for (a child of perThreadCount). */
    private boolean runsHere() {
        return threads.size() == 1 && threads.get(0).toString().equals(System.getenv("DEEPKERN_NUM_THREADS"));
    }

    /**
     * This bench again in a JVM per thread count, with DEEPKERN_NUM_THREADS set before the library
     * loads (the peer takes the pool's size); the exit code is the worst child's.
     */
    private int perThreadCount() throws IOException, InterruptedException {
        if (out != null && threads.size() > 1) {
            OutputPath.folder(spec, "--out", out);
            Files.createDirectories(out);
        }
        int worst = 0;
        for (int n : threads) {
            if (n < 1) throw Main.bad(spec, "--threads " + n + ": expected a count of 1 or more");
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
            cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "bench",
                    "--threads", Integer.toString(n)));
            if (device.device != null) cmd.addAll(List.of("--device", device.device));
            if (!ops.isEmpty()) cmd.addAll(List.of("--ops", String.join(",", ops)));
            if (quick) cmd.add("--quick");
            if (checkOnly) cmd.add("--check-only");
            if (peerTimes != null) cmd.addAll(List.of("--peer-times", peerTimes.toString()));
            if (out != null) cmd.addAll(List.of("--out", (threads.size() > 1 ? out.resolve("threads-" + n) : out).toString()));
            ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
            pb.environment().put("DEEPKERN_NUM_THREADS", Integer.toString(n));
            worst = Math.max(worst, pb.start().waitFor());
        }
        return worst;
    }

    /** --peer-times when given; on cpu PyTorch through the presets when on the class path. */
    private Peer peer(Device d, int threads, PrintStream o) throws IOException {
        if (peerTimes != null) {
            PeerTimes p = PeerTimes.read(peerTimes);
            o.println("peer: " + p.name() + " (from " + peerTimes + ")");
            return p;
        }
        if (d.type() != Device.Type.CPU) {
            o.println("peer: n/a on " + d + " here (benchmarks/gpu/check.sh measures PyTorch on cuda)");
            return null;
        }
        try {
            Peer p = (Peer) Class.forName("org.deepkern.cli.bench.TorchPeer").getConstructor(int.class).newInstance(threads);
            o.println("peer: " + p.name() + " through the JavaCPP presets, " + threads + " threads");
            return p;
        } catch (ReflectiveOperationException | LinkageError e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            o.println("peer: n/a (PyTorch presets not available: " + cause + ")");
            return null;
        }
    }

    private void write(RunInfo run, List<Result> results) throws IOException {
        Files.createDirectories(out);
        String title = String.format("deepkern %s on %s (%s), commit %s, %s", run.version(), run.device(), run.deviceName(),
                run.commit(), run.date());
        Files.writeString(out.resolve("results.json"), Report.json(run, results));
        Files.writeString(out.resolve("table.md"), Report.markdown("### " + title, results) + "\n"
                + run.ceilingsLine().replace("\n", "\n\n") + ".\n");
        RooflinePlot.write(out.resolve("roofline.png"), title, run.roofline(), results);
        System.out.println("wrote " + out.resolve("results.json") + ", table.md, roofline.png");
    }

    /** DEEPKERN_COMMIT (set by benchmarks/gpu/check.sh), else git's HEAD, else "unknown". */
    private static String commit() {
        String env = System.getenv("DEEPKERN_COMMIT");
        if (env != null && !env.isBlank()) return env.trim();
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").redirectErrorStream(true).start();
            String s = new String(p.getInputStream().readAllBytes()).trim();
            return p.waitFor() == 0 && !s.isEmpty() ? s : "unknown";
        } catch (IOException | InterruptedException e) {
            return "unknown";
        }
    }
}
