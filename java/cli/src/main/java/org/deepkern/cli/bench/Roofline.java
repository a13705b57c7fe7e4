package org.deepkern.cli.bench;

/**
 * The two ceilings of a device, measured: memory bandwidth (bytes read + written per second by
 * a large copy) and arithmetic rate (FLOP per second of an FMA-bound kernel). A kernel that
 * moves B bytes and does F FLOP cannot take less than max(B / bandwidth, F / flops).
 */
public record Roofline(double bandwidth, double flops) {

    public double floorSeconds(double bytes, double flop) {
        return Math.max(bytes / bandwidth, flop / flops);
    }

    /** Fraction of the roofline a measured time reaches (1 = at the ceiling). */
    public double fraction(double bytes, double flop, double seconds) {
        return floorSeconds(bytes, flop) / seconds;
    }

    /** The highest FLOP rate attainable at an arithmetic intensity (FLOP per byte). */
    public double attainable(double intensity) {
        return Math.min(bandwidth * intensity, flops);
    }

    /** Each ceiling the higher of this one's and o's. */
    public Roofline max(Roofline o) {
        return new Roofline(Math.max(bandwidth, o.bandwidth), Math.max(flops, o.flops));
    }

    /** Where the two ceilings meet (FLOP per byte). */
    public double ridge() {
        return flops / bandwidth;
    }
}
