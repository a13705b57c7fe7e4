package org.deepkern.testing;

/**
 * Philox4x32-10 in Java, from Salmon et al. (SC11) and checked against the Random123 known-answer
 * vectors in PhiloxReferenceTest; used to check the native random streams.
 */
public final class Philox {
    private Philox() {}

    public static int[] block(int[] counter, int[] key) {
        long c0 = counter[0] & 0xffffffffL, c1 = counter[1] & 0xffffffffL;
        long c2 = counter[2] & 0xffffffffL, c3 = counter[3] & 0xffffffffL;
        long k0 = key[0] & 0xffffffffL, k1 = key[1] & 0xffffffffL;
        for (int round = 0; round < 10; round++) {
            if (round > 0) {
                k0 = (k0 + 0x9E3779B9L) & 0xffffffffL;
                k1 = (k1 + 0xBB67AE85L) & 0xffffffffL;
            }
            long p0 = 0xD2511F53L * c0, p1 = 0xCD9E8D57L * c2;
            long n0 = ((p1 >>> 32) ^ c1 ^ k0) & 0xffffffffL;
            long n1 = p1 & 0xffffffffL;
            long n2 = ((p0 >>> 32) ^ c3 ^ k1) & 0xffffffffL;
            long n3 = p0 & 0xffffffffL;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
        }
        return new int[] {(int) c0, (int) c1, (int) c2, (int) c3};
    }

    /** The bits behind normal number i of the stream (seed, offset), as deepkern documents it. */
    public static int[] streamBlock(long seed, long offset, long i) {
        long c = offset + i / 4;
        return block(new int[] {(int) c, (int) (c >>> 32), 0, 0}, new int[] {(int) seed, (int) (seed >>> 32)});
    }

    /** Box-Muller in double on the documented uniforms: (top 24 bits + 0.5) / 2^24. */
    public static double normal(long seed, long offset, long i) {
        int[] r = streamBlock(seed, offset, i);
        int lane = (int) (i & 3);
        double u1 = uniform(r[lane & 2]), u2 = uniform(r[(lane & 2) + 1]);
        double radius = Math.sqrt(-2 * Math.log(u1));
        double theta = 2 * Math.PI * u2;
        return (lane & 1) == 0 ? radius * Math.cos(theta) : radius * Math.sin(theta);
    }

    private static double uniform(int bits) {
        return ((bits >>> 8) + 0.5) / (1 << 24);
    }
}
