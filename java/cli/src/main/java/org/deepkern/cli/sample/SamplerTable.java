package org.deepkern.cli.sample;

import org.deepkern.diffusion.AbstractScheduler;
import org.deepkern.diffusion.GaussianMixture;
import java.util.List;
import java.util.function.IntConsumer;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;

/**
 * The DDIM paper's Table 1 redone on an exact target: rows of samplers, columns of step counts,
 * in each cell the sliced W2 of n samples against the target, beside the noise floor at that n.
 */
public final class SamplerTable {
    private SamplerTable() {}

    public record Row(String label, String sampler, double eta) {}

    public static final List<Row> ROWS = List.of(new Row("DDIM, eta = 0", "ddim", 0), new Row("DDIM, eta = 1", "ddim", 1),
            new Row("DDPM ancestral", "ddpm", 0), new Row("flow matching Euler", "flow-euler", 0),
            new Row("Euler-Maruyama VP", "em-vp", 0), new Row("DPM-Solver++(2M)", "dpm++2m", 0));

    public static final int[] STEPS = {10, 20, 50, 100, 1000};

    /** One cell: n samples of a sampler at a step count, scored; the same seed for every cell. */
    public static SlicedWasserstein.Score cell(GaussianMixture target, AbstractScheduler<?> scheduler, int steps, Device device,
                                             int n, long seed, IntConsumer progress) {
        scheduler.setTimesteps(steps);
        float[] samples;
        try (GaussianMixture.Exact model = target.denoiser(device, scheduler.prediction());
             Tensor x = scheduler.sample(model, device, new long[] {n, target.dims()}, new Generator(seed), progress)) {
            samples = x.toFloatArray();
        }
        return SlicedWasserstein.score(target, samples, seed);
    }

    /** The table as markdown; cellDone is told after each cell. */
    public static String markdown(GaussianMixture target, String targetName, Device device, int n, long seed, Runnable cellDone) {
        StringBuilder sb = new StringBuilder("| sampler (" + targetName + ", n = " + n + ") |");
        for (int s : STEPS) sb.append(' ').append(s).append(" steps |");
        sb.append("\n|---|").append("---|".repeat(STEPS.length)).append('\n');
        double floor = 0;
        for (Row row : ROWS) {
            sb.append("| ").append(row.label()).append(" |");
            for (int s : STEPS) {
                AbstractScheduler<?> scheduler = Samplers.create(row.sampler(), row.eta(), 50);
                try {
                    SlicedWasserstein.Score score = cell(target, scheduler, s, device, n, seed, null);
                    floor = score.floor();
                    sb.append(String.format(" %.4f |", score.metric()));
                } catch (DeepKernException e) {  // a step count the sampler does not take
                    sb.append(" n/a |");
                }
                cellDone.run();
            }
            sb.append('\n');
        }
        sb.append("| noise floor (two true sets) |");
        sb.append(String.format(" %.4f |", floor).repeat(STEPS.length)).append('\n');
        return sb.toString();
    }
}
