package org.deepkern.diffusion;

import java.util.function.IntConsumer;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.StepCoefs;

/**
 * What every scheduler shares: the timestep grid and the step index (diffusers' _step_index: the
 * next step, or the first occurrence of t when a step is called out of order), the prediction
 * type and its conversion to x0 and eps as step coefficients, the clip of x0, the Philox stream
 * of the steps' noise, the launch of the one fused pass, and the sampling loop.
 */
public abstract class AbstractScheduler<S extends AbstractScheduler<S>> implements Scheduler {
    protected double[] timesteps = new double[0];
    protected Prediction prediction;
    protected double clip;
    private int stepIndex;
    private long seed, offset, pendingAdvance;

    protected AbstractScheduler(Prediction prediction) {
        this.prediction = prediction;
    }

    /** What the model is expected to predict. */
    public Prediction prediction() {
        return prediction;
    }

    /** What the model predicts (diffusers' prediction_type). */
    @SuppressWarnings("unchecked")
    public S prediction(Prediction p) {
        if (p == null) throw DeepKernException.invalidArgument(name() + ".prediction", "prediction", "expected a prediction type, got null");
        prediction = p;
        return (S) this;
    }

    /** Clamps the predicted x0 to [-range, range] (diffusers' clip_sample_range); 0 = no clipping (the default here). */
    @SuppressWarnings("unchecked")
    public S clip(double range) {
        if (!(range >= 0) || Double.isInfinite(range))
            throw DeepKernException.invalidArgument(name() + ".clip", "clip", "expected a finite range >= 0 (0 = none), got " + range);
        clip = range;
        return (S) this;
    }

    @Override
    public final void setTimesteps(int n) {
        timesteps = makeTimesteps(n);
        restart();
    }

    /** The grid of n inference steps; checks n. */
    protected abstract double[] makeTimesteps(int n);

    /** The step from x at the i-th timestep: coefficients and one {@link #launch}. */
    protected abstract Tensor stepAt(int i, StepInput in);

    /** Forgets multistep state (closes its tensors). */
    protected void clearState() {}

    @Override
    public double[] timesteps() {
        return timesteps.clone();
    }

    @Override
    public double initNoiseSigma() {
        return 1;
    }

    @Override
    public Tensor scaleModelInput(Tensor x, double t) {
        return x;
    }

    @Override
    public void generator(long seed, long offset) {
        this.seed = seed;
        this.offset = offset;
    }

    /** The operands of one step. */
    protected record StepInput(Tensor cond, Tensor uncond, double guidance, Tensor x) {}

    @Override
    public final Tensor step(Tensor cond, Tensor uncond, double guidance, double t, Tensor x) {
        if (x == null) throw DeepKernException.invalidArgument(name() + ".step", "x", "expected a tensor, got null");
        if (cond == null) throw DeepKernException.invalidArgument(name() + ".step", "modelOutput", "expected a tensor, got null");
        if (!Double.isFinite(guidance)) throw DeepKernException.invalidArgument(name() + ".step", "guidance", "expected a finite scale, got " + guidance);
        int i = indexOf(t);
        Tensor out = stepAt(i, new StepInput(cond, uncond, guidance, x));
        stepIndex = i + 1;
        if (stepIndex == timesteps.length) clearState();
        return out;
    }

    private int indexOf(double t) {
        if (timesteps.length == 0) throw DeepKernException.invalidArgument(name() + ".step", "t", "no timesteps: call setTimesteps first");
        if (stepIndex < timesteps.length && timesteps[stepIndex] == t) return stepIndex;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                clearState();  // out of order: multistep state no longer applies
                return i;
            }
        }
        throw DeepKernException.invalidArgument(name() + ".step", "t", t + " is not one of the " + timesteps.length + " timesteps of the schedule");
    }

    private void restart() {
        stepIndex = 0;
        clearState();
    }

    /** The x0 and eps of the step from the model output at level lv; x enters scaled by xScale. */
    protected StepCoefs convert(NoiseLevel lv, double xScale) {
        Prediction.Linear x0 = prediction.x0(lv.a(), lv.b()), eps = prediction.eps(lv.a(), lv.b());
        return new StepCoefs().x0(x0.x() * xScale, x0.other(), clip).eps(eps.x() * xScale, eps.other(), 0);
    }

    /** Adds sigma z to the step's output (nothing when sigma is 0); the stream advances when the step runs. */
    protected StepCoefs noise(StepCoefs c, double sigma, Tensor x) {
        if (sigma > 0) {
            c.noise(sigma, seed, offset);
            pendingAdvance = (x.numel() + 3) / 4;
        }
        return c;
    }

    /** Runs the step: a new tensor like x (and out2, when given, written too). */
    protected Tensor launch(StepCoefs c, StepInput in, Tensor extra1, Tensor extra2, Tensor out2) {
        Tensor x = in.x();
        Tensor out = Tensor.empty(x.shape(), x.dtype(), x.device());
        try {
            F.diffusionStep(c.guidance(in.guidance()), x, in.cond(), in.uncond(), extra1, extra2, out, out2);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        } finally {
            offset += pendingAdvance;  // only a noisy step sets it, and it ran or failed whole
            pendingAdvance = 0;
        }
        return out;
    }

    /** s x as a new tensor (one pass). */
    protected static Tensor scaled(Tensor x, double s) {
        Tensor out = Tensor.empty(x.shape(), x.dtype(), x.device());
        try {
            return F.diffusionStep(new StepCoefs().out(s, 0, 0), x, x, null, null, null, out, null);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    @Override
    public Tensor sample(Denoiser denoiser, Device device, long[] shape, long seed, IntConsumer progress) {
        if (timesteps.length == 0) throw DeepKernException.invalidArgument(name() + ".sample", "steps", "no timesteps: call setTimesteps first");
        if (denoiser == null) throw DeepKernException.invalidArgument(name() + ".sample", "denoiser", "expected a denoiser, got null");
        restart();
        Tensor x = Tensor.randn(shape, DType.F32, device, new Generator(seed));
        if (initNoiseSigma() != 1) {
            Tensor z = x;
            x = scaled(z, initNoiseSigma());
            z.close();
        }
        generator(seed, (x.numel() + 3) / 4);
        try {
            for (int i = 0; i < timesteps.length; i++) {
                double t = timesteps[i];
                Tensor in = scaleModelInput(x, t);
                Tensor next;
                try (Tensor m = denoiser.predict(in, level(i))) {
                    next = step(m, t, x);
                } finally {
                    if (in != x) in.close();
                }
                x.close();
                x = next;
                if (progress != null) progress.accept(i + 1);
            }
            return x;
        } catch (RuntimeException e) {
            x.close();
            restart();
            throw e;
        }
    }

    /** The scheduler's name in messages. */
    protected String name() {
        return getClass().getSimpleName();
    }
}
