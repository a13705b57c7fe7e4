package org.deepkern.flow;

import java.util.Arrays;

import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.nn.Module;
import org.deepkern.ops.F;

/**
 * The affine coupling layer of RealNVP with Glow's scale: the channels (dim 1) are divided into two
 * parts by a {@link Mask}; one passes through unchanged and conditions the other through
 * h = conditioner(pass): z_b = (x_b + shift) * s, s = sigmoid(raw + 2), log |det| = sum log s.
 *
 * <p>The conditioner is any {@link Module} mapping the pass-through part [N, Cp, ...] to h
 * [N, 2 Ct, ...] laid out [shift | raw scale] along dim 1 (Ct: the transformed part's channels):
 * an {@code nn.Sequential} of Linear and Activation for [N, D] features, a small conv net for
 * images. Glow's code interleaves the two (shift = h[..., 0::2], scale = h[..., 1::2]); the halves
 * layout is the same family of maps up to a permutation of the conditioner's output channels.
 * Glow initializes the conditioner's last layer to zero, which makes the layer start near the
 * identity up to the scale sigmoid(2).
 *
 * <p>Not reversed, the first part passes through and the second is transformed; reversed, the
 * roles swap, so stacking couplings alternately reversed transforms every channel. The transform
 * runs fused in one kernel per direction ({@link F#affineCouplingForward}), with the log-det
 * reduced in the same pass.
 */
public final class AffineCoupling extends FlowLayer {
    private final long channels;
    private final Mask mask;
    private final boolean reverse;

    /**
     * A coupling over C channels.
     *
     * @param channels C, at least 2 (even for {@link Mask#PARITY})
     * @param conditioner maps the pass-through part to [shift | raw scale] for the transformed part
     * @param mask how the channels are divided
     * @param reverse whether the second part passes through and the first is transformed
     */
    public AffineCoupling(long channels, Module conditioner, Mask mask, boolean reverse) {
        String op = "new AffineCoupling";
        if (channels < 2) throw DeepKernException.invalidArgument(op, "channels", "expected >= 2, got " + channels);
        if (mask == null) throw DeepKernException.invalidArgument(op, "mask", "expected a mask, got null");
        if (mask == Mask.PARITY && channels % 2 != 0)
            throw DeepKernException.invalidArgument(op, "channels", "PARITY needs an even channel count, got " + channels);
        this.channels = channels;
        this.mask = mask;
        this.reverse = reverse;
        registerModule("conditioner", conditioner);
    }

    /** @return the conditioner network */
    public Module conditioner() {
        return namedChildren().get("conditioner");
    }

    /** @return the channels the pass-through part has */
    public long passChannels() {
        long first = FlowOps.firstPart(channels);
        return reverse ? channels - first : first;
    }

    /** @return the channels the transformed part has */
    public long transformedChannels() {
        return channels - passChannels();
    }

    private void check(String op, String name, Tensor x) {
        FlowOps.input(op, name, x);
        if (x.shape(1) != channels)
            throw DeepKernException.invalidArgument(op, name, "expected [N, " + channels + ", ...], got " + Arrays.toString(x.shape()));
    }

    private Tensor condition(String op, Tensor pass, Tensor transformed) {
        Tensor h = conditioner().forward(pass);
        long[] want = transformed.shape();
        want[1] *= 2;
        if (!Arrays.equals(h.shape(), want)) {
            long[] got = h.shape();
            h.close();
            throw DeepKernException.invalidArgument(op, "conditioner", "expected it to map the pass-through part "
                    + Arrays.toString(pass.shape()) + " to [shift | raw scale] " + Arrays.toString(want) + ", got "
                    + Arrays.toString(got));
        }
        return h;
    }

    /**
     * z = x with the transformed part replaced by (x_b + shift) * sigmoid(raw + 2).
     *
     * @param x [N, C, ...]
     * @return z and log |det| = sum log s per sample
     * @throws DeepKernException naming {@code AffineCoupling.forward} and 'x' (bad shape) or 'conditioner' (its output's shape)
     */
    @Override
    public FlowResult forwardWithLogDet(Tensor x) {
        String op = "AffineCoupling.forward";
        check(op, "x", x);
        Tensor[] parts = FlowOps.partition(x, mask);
        try {
            Tensor pass = reverse ? parts[1] : parts[0], trans = reverse ? parts[0] : parts[1];
            Tensor[] yl;
            try (Tensor h = condition(op, pass, trans)) {
                yl = FlowOps.coupling(trans, h);
            }
            try (Tensor yb = yl[0]) {
                Tensor z = reverse ? FlowOps.merge(yb, pass, mask) : FlowOps.merge(pass, yb, mask);
                return new FlowResult(z, yl[1]);
            }
        } finally {
            parts[0].close();
            parts[1].close();
        }
    }

    /**
     * x = z with the transformed part replaced by z_b / sigmoid(raw + 2) - shift; not recorded.
     *
     * @param z [N, C, ...]
     * @return x
     * @throws DeepKernException naming {@code AffineCoupling.inverse} and 'z' or 'conditioner'
     */
    @Override
    public Tensor inverse(Tensor z) {
        String op = "AffineCoupling.inverse";
        check(op, "z", z);
        try (NoGrad g = Tape.noGrad()) {
            Tensor[] parts = FlowOps.partition(z, mask);
            try {
                Tensor pass = reverse ? parts[1] : parts[0], trans = reverse ? parts[0] : parts[1];
                try (Tensor h = condition(op, pass, trans); Tensor xb = F.affineCouplingInverse(trans, h, null)) {
                    return reverse ? FlowOps.merge(xb, pass, mask) : FlowOps.merge(pass, xb, mask);
                }
            } finally {
                parts[0].close();
                parts[1].close();
            }
        }
    }

    @Override
    protected String extraRepr() {
        return "channels=" + channels + ", mask=" + mask + ", reverse=" + reverse;
    }
}
