package org.deepkern.cli;

import java.awt.Color;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.Checkpoint;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.cli.bench.Progress;
import org.deepkern.nn.Activation;
import org.deepkern.nn.Linear;
import org.deepkern.nn.Module;
import org.deepkern.nn.Sequential;
import org.deepkern.nn.TransformerBlock;
import org.deepkern.ops.Act;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepkern checkpoint-bench}: trains the same deep stack twice from the same weights, once
 * keeping every activation and once with √n checkpointed segments, and reports in one run the
 * peak activation memory (the allocator's peak above the weights, gradients and input), the median
 * step time, and whether every gradient and the trained weights are bit-identical.
 */
@Command(name = "checkpoint-bench", mixinStandardHelpOptions = true,
        description = "Train a deep stack with and without sqrt(n) gradient checkpointing: peak memory, step time, equal gradients.")
final class CheckpointBenchCommand implements Callable<Integer> {
    @Option(names = "--model", description = "mlp (Linear + GELU blocks) or transformer (default: ${DEFAULT-VALUE})")
    String model = "mlp";

    @Option(names = "--blocks", description = "blocks in the stack (default: ${DEFAULT-VALUE})")
    int blocks = 48;

    @Option(names = "--width", description = "the blocks' width (default: ${DEFAULT-VALUE})")
    int width = 256;

    @Option(names = "--batch", description = "rows per step (tokens for the transformer) (default: ${DEFAULT-VALUE})")
    int batch = 256;

    @Option(names = "--segments", description = "checkpointed segments; 0 for round(sqrt(blocks)) (default: ${DEFAULT-VALUE})")
    int segments = 0;

    @Option(names = "--steps", description = "training steps per run, the first untimed (default: ${DEFAULT-VALUE})")
    int steps = 6;

    @Mixin
    DeviceOption device;

    @Option(names = "--out", description = "write a PNG of memory and time")
    Path out;

    @Spec
    CommandSpec spec;

    /** One run's measurements and its final state. */
    private record Run(long activationBytes, double medianMs, List<float[]> grads, List<float[]> weights) {}

    @Override
    public Integer call() throws IOException {
        Device d = device.get();
        PrintWriter say = spec.commandLine().getOut();
        if (!model.equals("mlp") && !model.equals("transformer")) throw Main.bad(spec, "--model " + model + ": expected mlp or transformer");
        if (blocks < 2) throw Main.bad(spec, "--blocks " + blocks + ": expected at least 2");
        if (width < 8 || (model.equals("transformer") && width % 64 != 0))
            throw Main.bad(spec, "--width " + width + ": expected at least 8 (a multiple of 64 for the transformer)");
        if (batch < 1) throw Main.bad(spec, "--batch " + batch + ": expected at least 1");
        if (steps < 2) throw Main.bad(spec, "--steps " + steps + ": expected at least 2 (the first is not timed)");
        int segs = segments == 0 ? (int) Math.round(Math.sqrt(blocks)) : segments;
        if (segs < 1 || segs > blocks) throw Main.bad(spec, "--segments " + segments + ": expected 0 or 1.." + blocks);
        if (out != null) OutputPath.file(spec, "--out", out);

        Progress bar = new Progress(System.err, 2 * steps);
        Run plain = run(d, 0, bar, 0);
        Run ckpt = run(d, segs, bar, steps);
        boolean same = equal(plain.grads(), ckpt.grads()) && equal(plain.weights(), ckpt.weights());
        double memRatio = (double) ckpt.activationBytes() / plain.activationBytes(), timeRatio = ckpt.medianMs() / plain.medianMs();
        String shape = String.format("%s, %d blocks of width %d, batch %d, on %s", model, blocks, width, batch, d);
        say.println("checkpoint-bench: " + shape);
        say.println("| run | peak activation memory | step time (median) |");
        say.println("|---|---:|---:|");
        say.printf("| every activation kept | %.1f MiB | %.1f ms |%n", plain.activationBytes() / 1048576.0, plain.medianMs());
        say.printf("| %d checkpointed segments | %.1f MiB (%.2fx) | %.1f ms (%.2fx) |%n", segs,
                ckpt.activationBytes() / 1048576.0, memRatio, ckpt.medianMs(), timeRatio);
        say.println("gradients and trained weights bit-identical: " + (same ? "yes" : "NO"));
        if (out != null) {
            plot(out, shape, segs, plain, ckpt);
            say.println("wrote " + out);
        }
        return same ? 0 : 1;
    }

    private List<Module> stack(Device d) {
        Generator init = new Generator(7);
        List<Module> layers = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            layers.add(model.equals("mlp")
                    ? new Sequential(new Linear(width, width, true, DType.F32, d, init), new Activation(Act.gelu()))
                    : new TransformerBlock(width, width / 64, width / 64, 4L * width, DType.F32, d, init));
        }
        return layers;
    }

    /** steps SGD steps on the mean square of the stack's output; segments 0 keeps every activation. */
    private Run run(Device d, int segments, Progress bar, int done) {
        List<Module> layers = stack(d);
        try (Scope scope = Scope.open()) {
            // the transformer's batch is sequences of 64 tokens
            long[] shape = model.equals("mlp") ? new long[] {batch, width} : new long[] {Math.max(1, batch / 64), 64, width};
            Tensor x = Tensor.randn(shape, DType.F32, d, new Generator(11));
            long paramBytes = 0;
            for (Module m : layers) for (Tensor p : m.parameters()) paramBytes += p.numel() * p.dtype().byteSize();
            double[] ms = new double[steps - 1];
            List<float[]> grads = new ArrayList<>();
            for (int s = 0; s < steps; s++) {
                for (Module m : layers) for (Tensor p : m.parameters()) p.clearGrad();
                DeepKern.synchronize(d);
                long base = DeepKern.memoryStats(d).inUse();
                DeepKern.resetPeakMemory(d);
                long t0 = System.nanoTime();
                try (Scope step = Scope.open(); Tape tape = Tape.open()) {
                    Tensor y = segments == 0 ? new Sequential(layers.toArray(new Module[0])).forward(x)
                            : Checkpoint.checkpointSequential(layers, segments, x);
                    tape.backward(y.mul(y).mean());
                }
                DeepKern.synchronize(d);
                if (s > 0) ms[s - 1] = (System.nanoTime() - t0) / 1e6;
                long peak = DeepKern.memoryStats(d).peakInUse() - base - paramBytes;  // the gradients are the size of the weights
                if (s == steps - 1) {
                    for (Module m : layers) for (Tensor p : m.parameters()) grads.add(p.grad().toFloatArray());
                }
                try (NoGrad off = Tape.noGrad()) {
                    for (Module m : layers) for (Tensor p : m.parameters()) p.sub_(p.grad(), 1e-3);
                }
                bar.step(done + s + 1, segments == 0 ? "every activation" : segments + " segments");
                if (s == steps - 1) {
                    Arrays.sort(ms);
                    List<float[]> weights = new ArrayList<>();
                    for (Module m : layers) for (Tensor p : m.parameters()) weights.add(p.toFloatArray());
                    return new Run(peak, ms[ms.length / 2], grads, weights);
                }
            }
            throw new IllegalStateException("unreachable");
        } finally {
            layers.forEach(Module::close);
        }
    }

    private static boolean equal(List<float[]> a, List<float[]> b) {
        if (a.size() != b.size()) return false;
        for (int i = 0; i < a.size(); i++) {
            float[] x = a.get(i), y = b.get(i);
            if (x.length != y.length) return false;
            for (int j = 0; j < x.length; j++) if (Float.floatToRawIntBits(x[j]) != Float.floatToRawIntBits(y[j])) return false;
        }
        return true;
    }

    private static void plot(Path png, String shape, int segs, Run plain, Run ckpt) throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(800).height(500).title("gradient checkpointing: " + shape)
                .yAxisTitle("relative to keeping every activation").build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        List<String> what = List.of("peak activation memory", "step time");
        chart.addSeries("every activation kept", what, List.of(1.0, 1.0));
        chart.addSeries(segs + " checkpointed segments", what,
                List.of((double) ckpt.activationBytes() / plain.activationBytes(), ckpt.medianMs() / plain.medianMs()));
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
