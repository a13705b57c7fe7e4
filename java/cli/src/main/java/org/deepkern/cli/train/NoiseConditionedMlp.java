package org.deepkern.cli.train;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.diffusion.Denoiser;
import org.deepkern.diffusion.Prediction;
import org.deepkern.nn.Linear;
import org.deepkern.nn.Module;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;

/**
 * A small denoiser for low-dimensional targets: an MLP of SiLU layers on [x, Fourier features of the
 * log signal-to-noise ratio] whose output F is read as the velocity v = a eps - s x0 of a
 * variance-preserving state x = a x0 + s eps (a^2 + s^2 = 1), so that eps = s x + a F: trained with
 * the eps-loss, the noise at high noise levels (a near 0) comes from x itself and F's errors reach it
 * scaled by a (a plain eps output would have to be exact to a part in 1/a there, and a sampler's x0 =
 * (x - s eps) / a magnifies what it misses). Conditioning on the noise level rather than a timestep
 * index lets one trained model serve any sampler: a state a x0 + b eps of another schedule (flow
 * matching's a = 1 - t, b = t) is the VP state x / sqrt(a^2 + b^2) at log-SNR log(a^2 / b^2).
 */
public final class NoiseConditionedMlp extends Module {
    /** Fourier features of the log-SNR: sin and cos at this many frequencies. */
    static final int FREQUENCIES = 8;

    private final int dims;
    private final double minLogSnr, maxLogSnr;
    private final Linear in, hidden1, hidden2, out;

    /**
     * @param dims the data's dimension
     * @param width the hidden layers' width
     * @param minLogSnr the lowest log-SNR trained on (lower ones are clamped to it)
     * @param maxLogSnr the highest
     * @param device where the parameters live
     * @param generator the initialization's random source
     */
    public NoiseConditionedMlp(int dims, int width, double minLogSnr, double maxLogSnr, Device device, Generator generator) {
        this.dims = dims;
        this.minLogSnr = minLogSnr;
        this.maxLogSnr = maxLogSnr;
        in = registerModule("in", new Linear(dims + 2 * FREQUENCIES, width, true, DType.F32, device, generator));
        hidden1 = registerModule("hidden1", new Linear(width, width, true, DType.F32, device, generator));
        hidden2 = registerModule("hidden2", new Linear(width, width, true, DType.F32, device, generator));
        out = registerModule("out", new Linear(width, dims, true, DType.F32, device, generator));
    }

    /** [n, 2 F] features of each row's log-SNR (clamped to the trained range), made on the host. */
    Tensor features(double[] logSnr, Device device) {
        float[] f = new float[logSnr.length * 2 * FREQUENCIES];
        for (int i = 0; i < logSnr.length; i++) {
            double l = Math.max(minLogSnr, Math.min(maxLogSnr, logSnr[i])) / Math.max(-minLogSnr, maxLogSnr);  // [-1, 1]
            for (int k = 0; k < FREQUENCIES; k++) {
                double w = Math.PI * (1 << k) / 2;
                f[(i * FREQUENCIES + k) * 2] = (float) Math.sin(w * l);
                f[(i * FREQUENCIES + k) * 2 + 1] = (float) Math.cos(w * l);
            }
        }
        return Tensor.of(f, new long[] {logSnr.length, 2L * FREQUENCIES}, device);
    }

    /**
     * @param input [n, dims + 2 F]: the VP state beside its noise level's features
     * @return the predicted noise [n, dims]
     */
    @Override
    public Tensor forward(Tensor input) {
        try (Scope scope = Scope.open()) {
            Tensor h = input;
            for (Linear layer : new Linear[] {in, hidden1, hidden2}) h = F.linear(h, layer.weight(), layer.bias(), Act.silu(), null);
            return scope.keep(out.forward(h));
        }
    }

    /**
     * The predicted noise of VP states x [n, dims] at the given log-SNRs, eps = s x + a F.
     *
     * @param x the states
     * @param logSnr each row's log(a^2 / s^2)
     * @return eps [n, dims]
     */
    public Tensor eps(Tensor x, double[] logSnr) {
        int n = logSnr.length;
        float[] a = new float[n], s = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) Math.sqrt(1 / (1 + Math.exp(-logSnr[i])));
            s[i] = (float) Math.sqrt(1 / (1 + Math.exp(logSnr[i])));
        }
        try (Scope scope = Scope.open()) {
            Tensor f = forward(Tensor.cat(java.util.List.of(x, features(logSnr, x.device())), 1));
            Tensor ta = Tensor.of(a, new long[] {n, 1}, x.device()), ts = Tensor.of(s, new long[] {n, 1}, x.device());
            return scope.keep(x.mul(ts).add(f.mul(ta)));
        }
    }

    /**
     * This model as a sampler's denoiser: the state rescaled to VP, eps predicted, then turned into
     * the prediction the sampler asks for.
     *
     * @param prediction what the sampler's scheduler expects
     * @return the denoiser (it runs without recording)
     */
    public Denoiser denoiser(Prediction prediction) {
        double minSignal = Math.sqrt(1 / (1 + Math.exp(-minLogSnr)));  // the VP signal coefficient at the lowest log-SNR
        return (x, level) -> {
            try (NoGrad off = Tape.noGrad(); Scope scope = Scope.open()) {
                double a = level.a(), b = level.b(), norm = Math.sqrt(a * a + b * b);
                double[] l = new double[(int) x.shape(0)];
                java.util.Arrays.fill(l, b == 0 ? maxLogSnr : a == 0 ? minLogSnr : Math.log(a * a / (b * b)));
                Tensor eps = eps(x.div(norm), l);
                if (prediction == Prediction.EPSILON) return scope.keep(eps);
                // x0 from eps, its division kept finite at a = 0 (pure noise) by the trained range's floor
                Tensor x0 = x.sub(eps.mul(b)).div(Math.max(a, minSignal * norm));
                return scope.keep(switch (prediction) {
                    case SAMPLE -> x0;
                    case V_PREDICTION -> eps.mul(a).sub(x0.mul(b));
                    case FLOW -> eps.sub(x0);
                    default -> throw new IllegalStateException(prediction.name());
                });
            }
        };
    }

    int dims() {
        return dims;
    }

    @Override
    protected String extraRepr() {
        return "dims=" + dims + ", log_snr=[" + minLogSnr + ", " + maxLogSnr + "]";
    }
}
