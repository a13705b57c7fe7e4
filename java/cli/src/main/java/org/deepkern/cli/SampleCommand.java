package org.deepkern.cli;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.cli.bench.Progress;
import org.deepkern.diffusion.AbstractScheduler;
import org.deepkern.diffusion.GaussianMixture;
import org.deepkern.cli.sample.SamplerTable;
import org.deepkern.cli.sample.Samplers;
import org.deepkern.cli.sample.SlicedWasserstein;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepkern sample}: runs a sampler on an exact target (a Gaussian mixture, whose optimal
 * denoiser is closed form), prints sliced W2 against the target beside its noise floor, and
 * optionally plots the samples over the target; {@code --table} redoes the DDIM paper's Table 1.
 */
@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Sample an exact Gaussian-mixture target with a diffusion sampler and score it (sliced W2 vs its noise floor).")
final class SampleCommand implements Callable<Integer> {
    static final List<String> TARGETS = List.of("ring8", "gmm16");

    @Option(names = "--sampler", description = "ddpm, ddim, euler, heun, flow-euler, flow-heun, dpm++2m, em-vp, em-ve, ode-vp (default: ${DEFAULT-VALUE})")
    String sampler = "ddim";

    @Option(names = "--steps", description = "inference steps (default: ${DEFAULT-VALUE})")
    int steps = 50;

    @Option(names = "--eta", description = "DDIM's eta in [0, 1] (default: ${DEFAULT-VALUE})")
    double eta = 0;

    @Option(names = "--sigma-max", description = "the VE SDE's sigma_max (default: ${DEFAULT-VALUE})")
    double sigmaMax = 50;

    @Option(names = "--target", description = "ring8 (2-D) or gmm16 (16-D) (default: ${DEFAULT-VALUE})")
    String target = "ring8";

    @Option(names = "--n", description = "samples (default: ${DEFAULT-VALUE})")
    int n = 10000;

    @Option(names = "--seed", description = "Philox seed (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Mixin
    DeviceOption device;

    @Option(names = "--out", description = "write a PNG of the samples over the target")
    Path out;

    @Option(names = "--table", description = "the DDIM paper's Table 1 on the target (markdown)")
    boolean table;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Device d = device.get();
        if (!Samplers.NAMES.contains(sampler)) throw Main.bad(spec, "--sampler " + sampler + ": expected one of " + Samplers.NAMES);
        if (!TARGETS.contains(target)) throw Main.bad(spec, "--target " + target + ": expected one of " + TARGETS);
        if (steps < 1) throw Main.bad(spec, "--steps " + steps + ": expected at least 1");
        if (n < 1) throw Main.bad(spec, "--n " + n + ": expected at least 1 sample");
        if (!(eta >= 0 && eta <= 1)) throw Main.bad(spec, "--eta " + eta + ": expected 0 <= eta <= 1");
        if (!(sigmaMax > 0) || Double.isInfinite(sigmaMax)) throw Main.bad(spec, "--sigma-max " + sigmaMax + ": expected a finite value > 0");
        if (out != null) OutputPath.file(spec, "--out", out);
        GaussianMixture g = GaussianMixture.named(target);
        if (table) {
            Progress bar = new Progress(System.err, SamplerTable.ROWS.size() * SamplerTable.STEPS.length);
            int[] done = {0};
            System.out.print(SamplerTable.markdown(g, target, d, n, seed, () -> bar.step(++done[0], "")));
            return 0;
        }
        AbstractScheduler<?> s = Samplers.create(sampler, eta, sigmaMax);
        try {
            s.setTimesteps(steps);
        } catch (DeepKernException e) {  // more steps than the sampler's schedule has
            throw Main.bad(spec, "--steps " + steps + ": " + e.getMessage().replaceFirst("^.*?argument 'steps': ", ""));
        }
        int calls = s.timesteps().length;
        Progress bar = new Progress(calls >= 100 ? System.err : null, calls);
        float[] samples;
        try (GaussianMixture.Exact model = g.denoiser(d, s.prediction());
             Tensor x = s.sample(model, d, new long[] {n, g.dims()}, new Generator(seed), i -> bar.step(i, sampler))) {
            samples = x.toFloatArray();
        }
        SlicedWasserstein.Score score = SlicedWasserstein.score(g, samples, seed);
        System.out.printf("%s, %d steps%s on %s, %s, n = %d: sliced W2 %.4f, noise floor %.4f (%.2fx)%n", sampler, steps,
                sampler.equals("ddim") ? ", eta " + eta : "", d, target, n, score.metric(), score.floor(), score.ratio());
        if (out != null) {
            plot(out, g, samples, String.format("%s, %d steps: sliced W2 %.4f (floor %.4f)", sampler, steps, score.metric(), score.floor()));
            System.out.println("wrote " + out);
        }
        return 0;
    }

    /** The samples' first two coordinates over the target's components (circles at 1 and 2 std). */
    static void plot(Path png, GaussianMixture g, float[] samples, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(800).title(title).xAxisTitle("x1").yAxisTitle("x2").build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setMarkerSize(2);
        int n = samples.length / g.dims();
        double[] x = new double[n], y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = samples[i * g.dims()];
            y[i] = samples[i * g.dims() + 1];
        }
        XYSeries pts = chart.addSeries("samples", x, y);
        pts.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        pts.setMarkerColor(new Color(30, 90, 200, 90));
        for (int k = 0; k < g.components(); k++) {
            for (int r = 1; r <= 2; r++) {
                double[] cx = new double[65], cy = new double[65], mu = g.mean(k);
                for (int j = 0; j <= 64; j++) {
                    cx[j] = mu[0] + r * g.std() * Math.cos(2 * Math.PI * j / 64);
                    cy[j] = mu[1] + r * g.std() * Math.sin(2 * Math.PI * j / 64);
                }
                XYSeries c = chart.addSeries("component " + k + " " + r + " std", cx, cy);
                c.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
                c.setMarker(SeriesMarkers.NONE);
                c.setLineColor(new Color(200, 40, 40, 160));
                c.setShowInLegend(false);
            }
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
