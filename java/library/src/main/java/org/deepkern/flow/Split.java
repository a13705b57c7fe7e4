package org.deepkern.flow;

import java.util.Arrays;

import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;

/**
 * Factors out half of the channels (Glow's split2d, RealNVP's multi-scale architecture): the first
 * C / 2 channels go on through the flow, the other C - C / 2 are final latents with a standard
 * normal prior. No parameters (Glow's learned prior on the factored half is not included).
 *
 * <p>Inside a {@link Flow} the factored half becomes part of the flow's z, so the flow stays a
 * bijection and its prior term covers it. On its own, as a {@link FlowLayer},
 * {@link #forwardWithLogDet} returns the kept half and, as its log-det term, the factored half's
 * log-density under N(0, I) (Glow's objective += logp(z2)); {@link #inverse} puts the prior's mean
 * (zeros, Glow at temperature 0) in the factored half's place, and {@link #merge} the exact one.
 */
public final class Split extends FlowLayer {
    private static final double LOG_2PI = Math.log(2 * Math.PI);

    /** The split (half of the channels). */
    public Split() {}

    private static void check(String op, String name, Tensor x, long min) {
        FlowOps.input(op, name, x);
        if (x.shape(1) < min)
            throw DeepKernException.invalidArgument(op, name, "expected at least " + min + " channels (dim 1), got "
                    + Arrays.toString(x.shape()));
    }

    /**
     * The kept and the factored part, recorded.
     *
     * @param x [N, C, ...], C at least 2
     * @return [kept (the first C / 2 channels), factored (the rest)], new tensors the caller owns
     * @throws DeepKernException naming {@code Split.split} and 'x' on a bad shape
     */
    public Tensor[] split(Tensor x) {
        check("Split.split", "x", x, 2);
        return FlowOps.partition(x, Mask.HALVES);
    }

    /**
     * The inverse of {@link #split}, recorded.
     *
     * @param kept the kept part [N, C / 2, ...]
     * @param factored the factored part [N, C - C / 2, ...]
     * @return [N, C, ...]
     * @throws DeepKernException naming {@code Split.merge} and the argument that does not fit
     */
    public Tensor merge(Tensor kept, Tensor factored) {
        FlowOps.input("Split.merge", "kept", kept);
        FlowOps.input("Split.merge", "factored", factored);
        long[] k = kept.shape(), f = factored.shape();
        long[] kk = k.clone(), ff = f.clone();
        kk[1] = 0;
        ff[1] = 0;
        if (!Arrays.equals(kk, ff) || (f[1] != k[1] && f[1] != k[1] + 1))
            throw DeepKernException.invalidArgument("Split.merge", "factored", "expected " + k[1] + " or " + (k[1] + 1)
                    + " channels and the other dims of 'kept' " + Arrays.toString(k) + ", got " + Arrays.toString(f));
        return FlowOps.merge(kept, factored, Mask.HALVES);
    }

    /**
     * The standard normal log-density of each sample of t, recorded through tensor ops.
     *
     * @param t [N, ...]
     * @return f32 [N]
     */
    static Tensor standardNormalLogProb(Tensor t) {
        long n = t.shape(0);
        long d = n == 0 ? 0 : t.numel() / n;
        try (Tensor sq = t.mul(t); Tensor s = sq.sum(FlowOps.allButSample(t.ndim()), false); Tensor h = s.mul(-0.5)) {
            return h.add(-0.5 * d * LOG_2PI);
        }
    }

    /**
     * @param x [N, C, ...], C at least 2
     * @return the kept half and the factored half's log N(z2; 0, I) per sample
     * @throws DeepKernException naming {@code Split.split} and 'x' on a bad shape
     */
    @Override
    public FlowResult forwardWithLogDet(Tensor x) {
        Tensor[] parts = split(x);
        try (Tensor f = parts[1]) {
            return new FlowResult(parts[0], standardNormalLogProb(f));
        }
    }

    /**
     * The kept half with zeros (the prior's mean) as the factored half; not recorded.
     *
     * @param z the kept part [N, C, ...]
     * @return [N, 2C, ...]
     * @throws DeepKernException naming {@code Split.inverse} and 'z' on a bad shape
     */
    @Override
    public Tensor inverse(Tensor z) {
        check("Split.inverse", "z", z, 1);
        try (NoGrad g = Tape.noGrad(); Tensor zeros = Tensor.zerosLike(z)) {
            return FlowOps.merge(z, zeros, Mask.HALVES);
        }
    }

    /**
     * @param sampleShape [C, ...]
     * @return [C / 2, ...], the kept part
     */
    @Override
    public long[] outputShape(long[] sampleShape) {
        long[] s = sampleShape.clone();
        s[0] = sampleShape[0] / 2;
        return s;
    }
}
