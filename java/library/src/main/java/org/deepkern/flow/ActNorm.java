package org.deepkern.flow;

import java.util.Arrays;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;

/**
 * Glow's activation normalization: a per-channel affine map y = (x + bias) * exp(logScale), with
 * log |det| = positions * sum_c logScale[c] per sample (positions: the elements per channel of one
 * sample, H * W for an image, 1 for [N, D]).
 *
 * <p>Data-dependent initialization (Glow): the first {@link #forwardWithLogDet} in training mode
 * sets bias = -mean and logScale = -log(std + 1e-6) per channel from that batch, under no-grad, so
 * the batch comes out with zero mean and unit variance per channel. Loading a state dict does not
 * mark the layer initialized: call {@link #setInitialized} after loading. Parameters: "bias" [C],
 * "logScale" [C], f32.
 */
public final class ActNorm extends FlowLayer {
    private static final double EPS = 1e-6;
    private final long channels;
    private boolean initialized;

    /**
     * An ActNorm over C channels, f32 on the default device.
     *
     * @param channels C, at least 1
     */
    public ActNorm(long channels) {
        this(channels, DeepKern.defaultDevice());
    }

    /**
     * An ActNorm over C channels, f32 parameters on a device, zero until the data-dependent init.
     *
     * @param channels C, at least 1
     * @param device where the parameters live
     */
    public ActNorm(long channels, Device device) {
        if (channels < 1) throw DeepKernException.invalidArgument("new ActNorm", "channels", "expected >= 1, got " + channels);
        if (device == null) throw DeepKernException.invalidArgument("new ActNorm", "device", "expected a device, got null");
        this.channels = channels;
        registerParameter("bias", Scope.detach(Tensor.zeros(new long[] {channels}, DType.F32, device)));
        registerParameter("logScale", Scope.detach(Tensor.zeros(new long[] {channels}, DType.F32, device)));
    }

    /** @return whether the data-dependent initialization has run (or was marked done) */
    public boolean isInitialized() {
        return initialized;
    }

    /**
     * Marks the data-dependent initialization done or pending (after loading a state dict: done).
     *
     * @param initialized whether the next training forward must skip the initialization
     */
    public void setInitialized(boolean initialized) {
        this.initialized = initialized;
    }

    /** @return the bias parameter [C] */
    public Tensor bias() {
        return parameter("bias");
    }

    /** @return the log-scale parameter [C] */
    public Tensor logScale() {
        return parameter("logScale");
    }

    private void check(String op, String name, Tensor x) {
        FlowOps.input(op, name, x);
        if (x.shape(1) != channels)
            throw DeepKernException.invalidArgument(op, name, "expected [N, " + channels + ", ...], got " + Arrays.toString(x.shape()));
        if (x.dtype() != bias().dtype() || !x.device().equals(bias().device()))
            throw DeepKernException.invalidArgument(op, name, "expected " + bias().dtype() + " on " + bias().device()
                    + " (the parameters'), got " + x.dtype() + " on " + x.device());
    }

    private void initialize(Tensor x) {
        int[] dims = FlowOps.allButChannel(x.ndim());
        long count = x.numel() / channels;
        if (count < 1) throw DeepKernException.invalidArgument("ActNorm.forward", "x", "the data-dependent init needs at least one sample");
        try (NoGrad g = Tape.noGrad(); Tensor mean = x.mean(dims, false); Tensor sq = x.mul(x); Tensor msq = sq.mean(dims, false)) {
            float[] m = mean.toFloatArray(), q = msq.toFloatArray();
            float[] b = new float[m.length], ls = new float[m.length];
            for (int c = 0; c < m.length; ++c) {
                double var = Math.max(0, (double) q[c] - (double) m[c] * m[c]);
                b[c] = -m[c];
                ls[c] = (float) -Math.log(Math.sqrt(var) + EPS);
            }
            try (Tensor bt = Tensor.of(b, new long[] {channels}, x.device());
                 Tensor lt = Tensor.of(ls, new long[] {channels}, x.device())) {
                bias().copyFrom(bt);
                logScale().copyFrom(lt);
            }
        }
        initialized = true;
    }

    /**
     * y = (x + bias) * exp(logScale) per channel; the first call in training mode initializes from x.
     *
     * @param x [N, C, ...]
     * @return y and log |det| = positions * sum(logScale) per sample
     * @throws DeepKernException naming {@code ActNorm.forward} and 'x' when x is not [N, C, ...]
     *         with the parameters' dtype and device
     */
    @Override
    public FlowResult forwardWithLogDet(Tensor x) {
        check("ActNorm.forward", "x", x);
        if (isTraining() && !initialized) initialize(x);
        Tensor b = bias(), ls = logScale();
        float[] logs = ls.toFloatArray();
        float[] scale = new float[logs.length];
        double sumLogs = 0;
        for (int c = 0; c < logs.length; ++c) {
            scale[c] = (float) Math.exp(logs[c]);
            sumLogs += logs[c];
        }
        long positions = FlowOps.positions(x.shape());
        long[] cs = FlowOps.channelShape(channels, x.ndim());
        long n = x.shape(0);
        double logDet = positions * sumLogs;
        Tensor[] out = FlowOps.recorded("flow.actnorm", new Tensor[] {x, b, ls}, new Tensor[] {x, b}, () -> {
            try (Tensor s = Tensor.of(scale, cs, x.device()); Tensor bv = b.view(cs); Tensor shifted = x.add(bv)) {
                return new Tensor[] {shifted.mul(s), FlowOps.constantLogDet(n, logDet, x.device())};
            }
        }, (g, saved) -> {
            // y = (x + b) s: dx = dy s, db = sum dy s, dlogs = sum dy (x + b) s + positions * sum dlogdet
            int[] dims = FlowOps.allButChannel(g[0].ndim());
            Tensor gx = null;
            try (Tensor s = Tensor.of(scale, cs, g[0].device()); Tensor bv = saved[1].view(cs);
                 Tensor shifted = saved[0].add(bv); Tensor y = shifted.mul(s); Tensor gy = g[0].mul(y);
                 Tensor glsSum = gy.sum(dims, false)) {
                gx = g[0].mul(s);
                double extra = positions * FlowOps.sumOf(g[1]);
                return new Tensor[] {gx, gx.sum(dims, false), glsSum.add(extra)};
            } catch (RuntimeException e) {
                if (gx != null) gx.close();
                throw e;
            }
        });
        return new FlowResult(out[0], out[1]);
    }

    /**
     * x = y * exp(-logScale) - bias per channel; not recorded.
     *
     * @param z [N, C, ...]
     * @return x
     * @throws DeepKernException naming {@code ActNorm.inverse} and 'z' on a bad shape, dtype or device
     */
    @Override
    public Tensor inverse(Tensor z) {
        check("ActNorm.inverse", "z", z);
        float[] logs = logScale().toFloatArray();
        float[] inv = new float[logs.length];
        for (int c = 0; c < logs.length; ++c) inv[c] = (float) Math.exp(-logs[c]);
        long[] cs = FlowOps.channelShape(channels, z.ndim());
        try (NoGrad g = Tape.noGrad(); Tensor s = Tensor.of(inv, cs, z.device()); Tensor bv = bias().view(cs);
             Tensor scaled = z.mul(s)) {
            return scaled.sub(bv);
        }
    }

    @Override
    protected String extraRepr() {
        return "channels=" + channels;
    }
}
