package org.deepkern.flow;

import org.deepkern.Tensor;
import org.deepkern.nn.Module;

/**
 * One invertible step of a normalizing flow, a {@link Module} whose parameters optimizers see.
 *
 * <p>Direction: {@link #forwardWithLogDet} maps data to noise (x to z) and returns log |det dz/dx|,
 * nflows' convention ({@code Transform.forward(inputs) -> (outputs, logabsdet)}); {@link #inverse}
 * maps noise back to data. Inputs are [N, C, ...]: feature vectors [N, D] (C = D) or images
 * [N, C, H, W]; dim 1 is the channel (feature) dim every layer works across. The layers compute in
 * f32 (the fused coupling op itself, {@link org.deepkern.ops.F#affineCouplingForward}, takes f16 and
 * bf16 too).
 *
 * <p>{@link Module#forward} must return a tensor, so the pair (z, logDet) comes from
 * {@link #forwardWithLogDet}; {@link #forward} gives z alone. The forward records itself on an
 * open {@link org.deepkern.autograd.Tape}; {@link #inverse} is not recorded (sampling needs no
 * gradients) and runs under {@link org.deepkern.autograd.Tape#noGrad()}.
 */
public abstract class FlowLayer extends Module {
    /** A layer with no parameters yet. */
    protected FlowLayer() {}

    /**
     * The forward pass, data to noise.
     *
     * @param x the input [N, C, ...]
     * @return z and f32 [N] log |det dz/dx|, new tensors the caller owns
     */
    public abstract FlowResult forwardWithLogDet(Tensor x);

    /**
     * The inverse pass, noise to data.
     *
     * @param z an output of {@link #forwardWithLogDet}'s shape
     * @return x, a new tensor the caller owns
     */
    public abstract Tensor inverse(Tensor z);

    /**
     * The shape of one sample's output, given one sample's input shape (dims after N): the same,
     * unless the layer reshapes (Squeeze, Split and Flow say how).
     *
     * @param sampleShape the input's dims after N
     * @return the output's dims after N
     */
    public long[] outputShape(long[] sampleShape) {
        return sampleShape.clone();
    }

    /**
     * z of {@link #forwardWithLogDet}, the log-det dropped.
     *
     * @param x the input [N, C, ...]
     * @return z, a new tensor the caller owns
     */
    @Override
    public Tensor forward(Tensor x) {
        FlowResult r = forwardWithLogDet(x);
        r.logDet().close();
        return r.z();
    }
}
