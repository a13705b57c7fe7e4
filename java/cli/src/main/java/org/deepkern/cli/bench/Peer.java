package org.deepkern.cli.bench;

/** Another library timed on the same case in the same run (PyTorch), for the speed-up column. */
public interface Peer {
    /** The note of a peer whose answer failed the host reference: it gets no time and no speed-up. */
    String WRONG = "peer wrong: ";

    String name();

    /**
     * The peer's time on this case, from the same input values (in the op's order); a peer whose output fails
     * {@link BenchOp#verify} (the host reference deepkern's output is checked against) reports {@link #WRONG}
     * and why instead of a time.
     */
    PeerTime time(BenchCase c, float[][] inputs, Sampler sampler);

    /** Seconds per call, or no time with the reason (n/a, FAIL ...). */
    record PeerTime(String peer, Stats stats, String note) {
        public static PeerTime none(String peer, String note) {
            return new PeerTime(peer, null, note);
        }
    }
}
