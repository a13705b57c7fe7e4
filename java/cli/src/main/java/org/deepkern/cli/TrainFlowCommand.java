package org.deepkern.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.cli.bench.Progress;
import org.deepkern.cli.train.CosineDecay;
import org.deepkern.diffusion.GaussianMixture;
import org.deepkern.flow.ActNorm;
import org.deepkern.flow.AffineCoupling;
import org.deepkern.flow.Flow;
import org.deepkern.flow.FlowLayer;
import org.deepkern.flow.InvertibleConv1x1;
import org.deepkern.flow.Mask;
import org.deepkern.nn.Activation;
import org.deepkern.nn.Linear;
import org.deepkern.nn.Sequential;
import org.deepkern.ops.Act;
import org.deepkern.optim.AdamW;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepkern train-flow}: trains a Glow-style coupling flow (ActNorm, invertible 1x1, affine
 * coupling, repeated) by maximum likelihood on an exact Gaussian-mixture target and reports its
 * held-out negative log-likelihood against the target's own: the mixture's density is closed form,
 * so -mean log p on the same held-out points estimates its differential entropy, and the difference
 * is the flow's KL(p || q) (at least 0, in nats).
 */
@Command(name = "train-flow", mixinStandardHelpOptions = true,
        description = "Train a coupling flow on an exact target; report held-out NLL against the target's exact entropy.")
final class TrainFlowCommand implements Callable<Integer> {
    @Option(names = "--target", description = "ring8 (2-D) or gmm16 (16-D) (default: ${DEFAULT-VALUE})")
    String target = "ring8";

    @Option(names = "--blocks", description = "ActNorm + 1x1 + coupling blocks (default: ${DEFAULT-VALUE})")
    int blocks = 24;

    @Option(names = "--width", description = "the coupling conditioners' hidden width (default: ${DEFAULT-VALUE})")
    int width = 128;

    @Option(names = "--iterations", description = "training steps (default: ${DEFAULT-VALUE})")
    int iterations = 8000;

    @Option(names = "--batch", description = "samples per step (default: ${DEFAULT-VALUE})")
    int batch = 512;

    @Option(names = "--lr", description = "AdamW's learning rate (default: ${DEFAULT-VALUE})")
    double lr = 2e-3;

    @Option(names = "--n", description = "held-out points scored, and samples plotted (default: ${DEFAULT-VALUE})")
    int n = 20000;

    @Option(names = "--seed", description = "seed of the data, the initialization and the samples (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Mixin
    DeviceOption device;

    @Option(names = "--out", description = "write a PNG of the flow's samples over the target")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Device d = device.get();
        PrintWriter say = spec.commandLine().getOut();
        if (!SampleCommand.TARGETS.contains(target)) throw Main.bad(spec, "--target " + target + ": expected one of " + SampleCommand.TARGETS);
        if (blocks < 1) throw Main.bad(spec, "--blocks " + blocks + ": expected at least 1");
        if (width < 1) throw Main.bad(spec, "--width " + width + ": expected at least 1");
        if (iterations < 1) throw Main.bad(spec, "--iterations " + iterations + ": expected at least 1");
        if (batch < 2) throw Main.bad(spec, "--batch " + batch + ": expected at least 2");
        if (!(lr > 0) || Double.isInfinite(lr)) throw Main.bad(spec, "--lr " + lr + ": expected a finite value > 0");
        if (n < 1) throw Main.bad(spec, "--n " + n + ": expected at least 1");
        if (out != null) OutputPath.file(spec, "--out", out);
        GaussianMixture g = GaussianMixture.named(target);
        int dims = g.dims();
        float[] held = g.sample(n, seed ^ 0x7E57L);
        double entropy = entropy(g, held);

        try (Scope scope = Scope.open(); Flow flow = flow(dims, d, new Generator(seed + 1))) {
            try (NoGrad off = Tape.noGrad(); Tensor x = Tensor.of(g.sample(batch, seed + 2), new long[] {batch, dims}, d)) {
                flow.forwardWithLogDet(x).close();  // ActNorm's data-dependent initialization
            }
            Progress bar = new Progress(System.err, iterations);
            long t0 = System.nanoTime();
            double recent = 0;
            try (AdamW opt = new AdamW(flow.parameters(), AdamW.Options.defaults().lr(lr).weightDecay(0))) {
                for (int it = 0; it < iterations; it++) {
                    try (Scope step = Scope.open(); Tape tape = Tape.open()) {
                        Tensor x = Tensor.of(g.sample(batch, seed * 1_000_003L + 3 + it), new long[] {batch, dims}, d);
                        Tensor loss = flow.logProb(x).mean().neg();
                        tape.backward(loss);
                        opt.options(opt.options().lr(CosineDecay.lr(lr, it, iterations)));
                        opt.step();
                        opt.zeroGrad();
                        recent = it == 0 ? loss.item() : 0.98 * recent + 0.02 * loss.item();
                    }
                    bar.step(it + 1, String.format("NLL %.3f", recent));
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double nll = nll(flow, held, dims, d);
            say.printf("train-flow: %s, %d blocks (conditioners of width %d), %d steps of batch %d, on %s: %.1f s%n",
                    target, blocks, width, iterations, batch, d, seconds);
            say.printf("held-out NLL %.4f nats, the target's exact entropy %.4f nats (-mean log p on the same %d points): "
                    + "gap %.4f nats%n", nll, entropy, n, nll - entropy);
            if (out != null) {
                float[] samples;
                try (NoGrad off = Tape.noGrad(); Tensor s = flow.sample(n, new Generator(seed + 4))) {
                    samples = s.toFloatArray();
                }
                SampleCommand.plot(out, g, samples, String.format("coupling flow on %s: NLL %.3f, entropy %.3f", target, nll, entropy));
                say.println("wrote " + out);
            }
        }
        return 0;
    }

    /** blocks of ActNorm, an invertible 1x1 (a D x D LU map) and an affine coupling, alternately reversed. */
    private Flow flow(int dims, Device d, Generator gen) {
        List<FlowLayer> layers = new ArrayList<>();
        long half = dims / 2, rest = dims - half;
        for (int i = 0; i < blocks; i++) {
            boolean reverse = i % 2 == 1;
            long in = reverse ? rest : half, outs = 2 * (reverse ? half : rest);
            Linear last = new Linear(width, outs, true, DType.F32, d, gen);
            try (NoGrad off = Tape.noGrad()) {  // Glow: the coupling starts near the identity
                last.weight().mul_(0);
                last.bias().mul_(0);
            }
            layers.add(new ActNorm(dims, d));
            layers.add(new InvertibleConv1x1(dims, d, gen));
            layers.add(new AffineCoupling(dims, new Sequential(new Linear(in, width, true, DType.F32, d, gen),
                    new Activation(Act.silu()), new Linear(width, width, true, DType.F32, d, gen), new Activation(Act.silu()),
                    last), Mask.HALVES, reverse));
        }
        return new Flow(new long[] {dims}, layers.toArray(new FlowLayer[0]));
    }

    /** -mean log q over the points, in batches. */
    private static double nll(Flow flow, float[] pts, int dims, Device d) {
        int count = pts.length / dims;
        double total = 0;
        try (NoGrad off = Tape.noGrad()) {
            for (int at = 0; at < count; at += 4096) {
                int m = Math.min(4096, count - at);
                float[] part = java.util.Arrays.copyOfRange(pts, at * dims, (at + m) * dims);
                try (Tensor x = Tensor.of(part, new long[] {m, dims}, d); Tensor lp = flow.logProb(x); Tensor s = lp.sum()) {
                    total -= s.item();
                }
            }
        }
        return total / count;
    }

    /** -mean log p over the points under the mixture's exact density (log-sum-exp over components). */
    static double entropy(GaussianMixture g, float[] pts) {
        int dims = g.dims(), k = g.components();
        double s2 = g.std() * g.std(), wsum = 0;
        for (int c = 0; c < k; c++) wsum += g.weight(c);
        double norm = -0.5 * dims * Math.log(2 * Math.PI * s2), total = 0;
        double[] logs = new double[k];
        for (int i = 0; i < pts.length / dims; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) {
                double[] mu = g.mean(c);
                double q = 0;
                for (int j = 0; j < dims; j++) q += (pts[i * dims + j] - mu[j]) * (pts[i * dims + j] - mu[j]);
                logs[c] = Math.log(g.weight(c) / wsum) + norm - q / (2 * s2);
                max = Math.max(max, logs[c]);
            }
            double sum = 0;
            for (double l : logs) sum += Math.exp(l - max);
            total -= max + Math.log(sum);
        }
        return total / (pts.length / dims);
    }
}
