package org.deepkern.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.cli.bench.Progress;
import org.deepkern.cli.sample.Samplers;
import org.deepkern.cli.sample.SlicedWasserstein;
import org.deepkern.cli.train.CosineDecay;
import org.deepkern.cli.train.NoiseConditionedMlp;
import org.deepkern.diffusion.AbstractScheduler;
import org.deepkern.diffusion.Denoiser;
import org.deepkern.diffusion.GaussianMixture;
import org.deepkern.diffusion.NoiseSchedule;
import org.deepkern.ops.F;
import org.deepkern.ops.Reduction;
import org.deepkern.optim.AdamW;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepkern train-diffusion}: trains a small noise-conditioned MLP with DDPM's eps-loss on an
 * exact Gaussian-mixture target (tape, fused AdamW), then samples it with DDIM and flow-matching
 * Euler and scores the samples (sliced W2) against the noise floor and against the same samplers
 * driven by the target's exact denoiser.
 */
@Command(name = "train-diffusion", mixinStandardHelpOptions = true,
        description = "Train a diffusion denoiser on an exact target, sample it with DDIM and flow Euler, score it against the exact denoiser.")
final class TrainDiffusionCommand implements Callable<Integer> {
    @Option(names = "--target", description = "ring8 (2-D) or gmm16 (16-D) (default: ${DEFAULT-VALUE})")
    String target = "ring8";

    @Option(names = "--iterations", description = "training steps (default: ${DEFAULT-VALUE})")
    int iterations = 10000;

    @Option(names = "--batch", description = "samples per training step (default: ${DEFAULT-VALUE})")
    int batch = 512;

    @Option(names = "--width", description = "the MLP's hidden width (default: ${DEFAULT-VALUE})")
    int width = 256;

    @Option(names = "--lr", description = "AdamW's learning rate (default: ${DEFAULT-VALUE})")
    double lr = 1e-3;

    @Option(names = "--steps", description = "sampling steps (default: ${DEFAULT-VALUE})")
    int steps = 50;

    @Option(names = "--n", description = "samples scored (default: ${DEFAULT-VALUE})")
    int n = 10000;

    @Option(names = "--seed", description = "Philox seed (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Mixin
    DeviceOption device;

    @Option(names = "--out", description = "write a PNG of the trained model's DDIM samples over the target")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Device d = device.get();
        PrintWriter say = spec.commandLine().getOut();
        if (!SampleCommand.TARGETS.contains(target)) throw Main.bad(spec, "--target " + target + ": expected one of " + SampleCommand.TARGETS);
        if (iterations < 1) throw Main.bad(spec, "--iterations " + iterations + ": expected at least 1");
        if (batch < 1) throw Main.bad(spec, "--batch " + batch + ": expected at least 1");
        if (width < 1) throw Main.bad(spec, "--width " + width + ": expected at least 1");
        if (!(lr > 0) || Double.isInfinite(lr)) throw Main.bad(spec, "--lr " + lr + ": expected a finite value > 0");
        if (steps < 1 || steps > 1000) throw Main.bad(spec, "--steps " + steps + ": expected 1..1000");
        if (n < 1) throw Main.bad(spec, "--n " + n + ": expected at least 1 sample");
        if (out != null) OutputPath.file(spec, "--out", out);
        GaussianMixture g = GaussianMixture.named(target);
        NoiseSchedule schedule = NoiseSchedule.ddpm();
        int T = schedule.trainSteps();
        double minLogSnr = logSnr(schedule.alphaBar(T - 1)), maxLogSnr = logSnr(schedule.alphaBar(0));

        try (NoiseConditionedMlp model = new NoiseConditionedMlp(g.dims(), width, minLogSnr, maxLogSnr, d, new Generator(seed + 1));
             AdamW opt = new AdamW(model.parameters(), AdamW.Options.defaults().lr(lr).weightDecay(0))) {
            // an exponential moving average of the weights, what is sampled (as diffusion models are)
            List<Tensor> params = model.parameters(), ema = new ArrayList<>();
            for (Tensor p : params) ema.add(Scope.detach(p.clone()));
            Progress bar = new Progress(System.err, iterations);
            SplittableRandom times = new SplittableRandom(seed);
            Generator noise = new Generator(seed + 2);
            double recent = 0;
            long t0 = System.nanoTime();
            for (int it = 0; it < iterations; it++) {
                try (Scope scope = Scope.open(); Tape tape = Tape.open()) {
                    float[] a = new float[batch], s = new float[batch];
                    double[] l = new double[batch];
                    for (int i = 0; i < batch; i++) {
                        double ab = schedule.alphaBar(times.nextInt(T));
                        a[i] = (float) Math.sqrt(ab);
                        s[i] = (float) Math.sqrt(1 - ab);
                        l[i] = logSnr(ab);
                    }
                    Tensor x0 = Tensor.of(g.sample(batch, seed * 1_000_003L + it), new long[] {batch, g.dims()}, d);
                    Tensor eps = Tensor.randn(new long[] {batch, g.dims()}, DType.F32, d, noise);
                    Tensor xt = x0.mul(Tensor.of(a, new long[] {batch, 1}, d)).add(eps.mul(Tensor.of(s, new long[] {batch, 1}, d)));
                    Tensor loss = F.mseLoss(model.eps(xt, l), eps, Reduction.MEAN);
                    tape.backward(loss);
                    opt.options(opt.options().lr(CosineDecay.lr(lr, it, iterations)));
                    opt.step();
                    opt.zeroGrad();
                    try (NoGrad off = Tape.noGrad()) {
                        for (int i = 0; i < params.size(); i++) ema.get(i).mul_(EMA).add_(params.get(i), 1 - EMA);
                    }
                    recent = it == 0 ? loss.item() : 0.98 * recent + 0.02 * loss.item();
                }
                bar.step(it + 1, String.format("eps-loss %.4f", recent));
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            try (NoGrad off = Tape.noGrad()) {
                for (int i = 0; i < params.size(); i++) params.get(i).copyFrom(ema.get(i));
            }
            ema.forEach(Tensor::close);
            say.printf("train-diffusion: %s, %d steps of batch %d, MLP width %d, on %s: %.1f s, final eps-loss %.4f%n",
                    target, iterations, batch, width, d, seconds, recent);
            say.println("| sampler, " + steps + " steps (n = " + n + ") | trained model | exact denoiser | noise floor | trained / exact |");
            say.println("|---|---:|---:|---:|---:|");
            float[] shown = null;
            for (String sampler : new String[] {"ddim", "flow-euler"}) {
                float[] trained = sample(sampler, s -> model.denoiser(s.prediction()), d, g);
                float[] exact;
                AbstractScheduler<?> probe = Samplers.create(sampler, 0, 50);
                try (GaussianMixture.Exact e = g.denoiser(d, probe.prediction())) {
                    exact = sample(sampler, s -> e, d, g);
                }
                SlicedWasserstein.Score st = SlicedWasserstein.score(g, trained, seed), se = SlicedWasserstein.score(g, exact, seed);
                say.printf("| %s | %.4f | %.4f | %.4f | %.2fx |%n", sampler, st.metric(), se.metric(), st.floor(),
                        st.metric() / se.metric());
                if (shown == null) shown = trained;
            }
            if (out != null) {
                SampleCommand.plot(out, g, shown, String.format("trained denoiser on %s, DDIM %d steps", target, steps));
                say.println("wrote " + out);
            }
        }
        return 0;
    }

    /** The weights' moving average's decay per step. */
    private static final double EMA = 0.999;

    private static double logSnr(double alphaBar) {
        return Math.log(alphaBar / (1 - alphaBar));
    }

    /** n samples of a sampler at --steps with the denoiser made for its scheduler. */
    private float[] sample(String sampler, java.util.function.Function<AbstractScheduler<?>, Denoiser> denoiser, Device d,
                           GaussianMixture g) {
        AbstractScheduler<?> s = Samplers.create(sampler, 0, 50);
        s.setTimesteps(steps);
        try (Tensor x = s.sample(denoiser.apply(s), d, new long[] {n, g.dims()}, new Generator(seed + 3), null)) {
            return x.toFloatArray();
        }
    }
}
