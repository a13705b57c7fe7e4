package org.deepkern.cli.bench;

import java.util.Arrays;

/** Median and spread (10th and 90th percentiles) of repeated timings, in seconds. */
public record Stats(double median, double p10, double p90, int samples) {

    /** Percentiles by linear interpolation between order statistics. */
    public static Stats of(double[] values) {
        if (values.length == 0) throw new IllegalArgumentException("no samples");
        double[] v = values.clone();
        Arrays.sort(v);
        return new Stats(percentile(v, 0.5), percentile(v, 0.1), percentile(v, 0.9), v.length);
    }

    static double percentile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /** Half the p10-p90 range relative to the median: the run-to-run noise. */
    public double spread() {
        return (p90 - p10) / 2 / median;
    }
}
