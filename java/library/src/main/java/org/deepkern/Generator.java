package org.deepkern;

import org.deepkern.internal.Access;

/**
 * A source of random numbers, as torch's {@code Generator}: the Philox4x32-10 stream with key
 * {@code seed}, read from a counter that every draw advances, so two draws differ and a fresh
 * generator with the same seed repeats them, bit for bit on every backend. Thread-safe: concurrent
 * draws take disjoint counter ranges. A draw of n normals takes ceil(n / 4) counters.
 */
public final class Generator {
    static {
        Access.generators(Generator::reserve);  // the fused diffusion step draws its noise in the kernel
    }

    /** torch's default seed, which the default generator starts from. */
    public static final long DEFAULT_SEED = 67280421310721L;

    private static final Generator DEFAULT = new Generator(DEFAULT_SEED);

    private long seed;
    private long offset;

    /**
     * @param seed the Philox key
     */
    public Generator(long seed) {
        this.seed = seed;
    }

    /** @return the generator the factories draw from when none is given */
    public static Generator defaultGenerator() {
        return DEFAULT;
    }

    /**
     * Restarts the default generator from a seed (torch.manual_seed).
     *
     * @param seed the Philox key
     */
    public static void manualSeed(long seed) {
        DEFAULT.seed(seed);
    }

    /**
     * Restarts this generator: key seed, counter 0.
     *
     * @param seed the Philox key
     * @return this generator
     */
    public synchronized Generator seed(long seed) {
        this.seed = seed;
        offset = 0;
        return this;
    }

    /** @return the Philox key */
    public synchronized long initialSeed() {
        return seed;
    }

    /** @return the next Philox counter a draw will read */
    public synchronized long offset() {
        return offset;
    }

    /**
     * Moves the counter (torch's {@code Generator.set_offset}): with {@link #offset()} it saves and
     * restores the generator, so draws repeat bit for bit (what gradient checkpointing's recomputation relies on).
     *
     * @param offset the next counter a draw reads, at least 0
     * @return this generator
     */
    public synchronized Generator offset(long offset) {
        if (offset < 0) throw DeepKernException.invalidArgument("Generator.offset", "offset", "expected >= 0, got " + offset);
        this.offset = offset;
        return this;
    }

    /**
     * Reserves the counters of n normals (one counter gives four).
     *
     * @param n how many values the draw makes
     * @return the key and the first counter of the draw
     */
    synchronized long[] reserve(long n) {
        long first = offset;
        offset += (n + 3) / 4;
        return new long[] {seed, first};
    }

    @Override
    public synchronized String toString() {
        return "Generator(seed " + seed + ", offset " + offset + ")";
    }
}
