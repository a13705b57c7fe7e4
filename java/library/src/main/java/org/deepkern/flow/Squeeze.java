package org.deepkern.flow;

import java.util.Arrays;

import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;

/**
 * Glow's squeeze2d: [N, C, H, W] to [N, 4C, H/2, W/2], each 2x2 patch of a channel becoming four
 * channels (channel 4c + 2i + j holds pixel (2y + i, 2x + j) of channel c, Glow's order). A
 * permutation of the elements: log |det| = 0. No parameters.
 */
public final class Squeeze extends FlowLayer {
    /** The squeeze (factor 2). */
    public Squeeze() {}

    private static void check(String op, String name, Tensor x, boolean squeezed) {
        FlowOps.input(op, name, x);
        long[] s = x.shape();
        if (s.length != 4 || (!squeezed && (s[2] % 2 != 0 || s[3] % 2 != 0)) || (squeezed && s[1] % 4 != 0))
            throw DeepKernException.invalidArgument(op, name, (squeezed ? "expected [N, 4C, H, W]" : "expected [N, C, H, W] with H and W even")
                    + ", got " + Arrays.toString(s));
    }

    /**
     * @param x [N, C, H, W], H and W even
     * @return [N, 4C, H/2, W/2] and a zero log-det
     * @throws DeepKernException naming {@code Squeeze.forward} and 'x' on a bad shape
     */
    @Override
    public FlowResult forwardWithLogDet(Tensor x) {
        check("Squeeze.forward", "x", x, false);
        Tensor z = FlowOps.squeeze(x);
        return new FlowResult(z, FlowOps.constantLogDet(x.shape(0), 0, x.device()));
    }

    /**
     * @param z [N, 4C, H, W]
     * @return [N, C, 2H, 2W]
     * @throws DeepKernException naming {@code Squeeze.inverse} and 'z' on a bad shape
     */
    @Override
    public Tensor inverse(Tensor z) {
        check("Squeeze.inverse", "z", z, true);
        try (NoGrad g = Tape.noGrad()) {
            return FlowOps.unsqueezeRaw(z);
        }
    }

    /**
     * @param sampleShape [C, H, W]
     * @return [4C, H/2, W/2]
     */
    @Override
    public long[] outputShape(long[] sampleShape) {
        return new long[] {4 * sampleShape[0], sampleShape[1] / 2, sampleShape[2] / 2};
    }
}
