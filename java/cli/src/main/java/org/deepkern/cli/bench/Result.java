package org.deepkern.cli.bench;

/**
 * One measured case: the gate's verdict (a FAIL carries its reason and no time), our time, the
 * rates and roofline fraction derived from it, and the peer's time.
 */
public record Result(BenchCase benchCase, String device, String failure, Stats stats, Roofline roofline,
                     Peer.PeerTime peer) {

    public Result withPeer(Peer.PeerTime time) {
        return new Result(benchCase, device, failure, stats, roofline, time);
    }

    public Result withRoofline(Roofline r) {
        return new Result(benchCase, device, failure, stats, r, peer);
    }

    /** A measured time under the roofline's floor: the ceiling, not the kernel, is wrong. */
    public boolean ceilingError() {
        return stats != null && rooflineFraction() > 1;
    }

    public boolean passed() {
        return failure == null;
    }

    public double gbPerSecond() {
        return benchCase.bytes() / stats.median() / 1e9;
    }

    public double gflopPerSecond() {
        return benchCase.flops() / stats.median() / 1e9;
    }

    public double rooflineFraction() {
        return roofline.fraction(benchCase.bytes(), benchCase.flops(), stats.median());
    }

    /** FLOP per byte. */
    public double intensity() {
        return benchCase.flops() / benchCase.bytes();
    }

    /** Peer time over ours (> 1: we are faster), NaN without a peer time. */
    public double speedup() {
        return passed() && peer != null && peer.stats() != null ? peer.stats().median() / stats.median() : Double.NaN;
    }
}
