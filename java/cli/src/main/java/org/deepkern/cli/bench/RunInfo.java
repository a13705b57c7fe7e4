package org.deepkern.cli.bench;

/**
 * What identifies a run in results.json and RESULTS.md: library, commit, date, machine, ceilings.
 * The ceilings are measured at the start and the end of the run; fractions are of the better of each.
 */
public record RunInfo(String version, String commit, String date, String device, String deviceName, int threads,
                      Roofline start, Roofline end) {
    public Roofline roofline() {
        return start.max(end);
    }

    /** How far the ceilings moved during the run (relative): above {@link Ceilings#NOISY} the machine was noisy. */
    public double ceilingsMoved() {
        return Ceilings.moved(start, end);
    }

    /** The ceilings as the report states them, with a warning when they moved past {@link Ceilings#NOISY}. */
    public String ceilingsLine() {
        Roofline r = roofline();
        String s = String.format(java.util.Locale.ROOT, "ceilings: copy %.1f GB/s (read + write), FMA %.1f GFLOP/s (f32), "
                + "best of the run's start (%.1f, %.1f) and end (%.1f, %.1f)", r.bandwidth() / 1e9, r.flops() / 1e9,
                start.bandwidth() / 1e9, start.flops() / 1e9, end.bandwidth() / 1e9, end.flops() / 1e9);
        if (ceilingsMoved() > Ceilings.NOISY)
            s += String.format(java.util.Locale.ROOT, "%nwarning: the ceilings moved %.0f%% during the run: the machine is "
                    + "noisy, so fractions and ratios are uncertain by about as much", 100 * ceilingsMoved());
        return s;
    }
}
