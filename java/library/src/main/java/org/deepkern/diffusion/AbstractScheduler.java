package org.deepkern.diffusion;

import java.util.Arrays;
import java.util.function.IntConsumer;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.internal.Access;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Diffusion;
import org.deepkern.ops.StepCoefs;

/**
 * What every scheduler shares: the timestep grid and the step index (diffusers' _step_index: the
 * next step, or the first occurrence of t when a step is called out of order), the prediction
 * type and its conversion to x0 and eps as step coefficients, the clip of x0 (diffusers'
 * clip_sample and clip_sample_range), the generator of the steps' noise, the launch of the one
 * fused pass, addNoise, and the sampling loop.
 */
public abstract class AbstractScheduler<S extends AbstractScheduler<S>> implements Scheduler {
    /** The grid of the last {@link #setTimesteps}. */
    protected double[] timesteps = new double[0];
    /** What the model predicts. */
    protected Prediction prediction;
    private boolean clipSample;
    private double clipSampleRange = 1;
    private Generator generator = Generator.defaultGenerator();
    private int stepIndex;

    /**
     * @param prediction the default prediction type
     * @param clipSample whether x0 is clipped by default (diffusers' default for the counterpart)
     */
    protected AbstractScheduler(Prediction prediction, boolean clipSample) {
        this.prediction = prediction;
        this.clipSample = clipSample;
    }

    /** @return what the model is expected to predict */
    public Prediction prediction() {
        return prediction;
    }

    /**
     * @param p what the model predicts (diffusers' prediction_type)
     * @return this scheduler
     */
    @SuppressWarnings("unchecked")
    public S prediction(Prediction p) {
        if (p == null) throw DeepKernException.invalidArgument(name() + ".prediction", "prediction", "expected a prediction type, got null");
        prediction = p;
        return (S) this;
    }

    /** @return whether the step clamps x0 to [-clipSampleRange, clipSampleRange] */
    public boolean clipSample() {
        return clipSample;
    }

    /**
     * diffusers' clip_sample: clamp the predicted x0 to [-clipSampleRange, clipSampleRange] before
     * it enters the step. On by default for DDPM and DDIM, as in diffusers; off elsewhere. Where a
     * step uses eps besides x0 (the Euler family's derivative, the SDEs' score), eps is then
     * re-derived from the clamped x0, as diffusers' HeunDiscreteScheduler does; DDIM keeps the
     * model's eps unless {@link DdimScheduler#useClippedModelOutput} says otherwise.
     *
     * @param on whether to clip
     * @return this scheduler
     */
    @SuppressWarnings("unchecked")
    public S clipSample(boolean on) {
        clipSample = on;
        return (S) this;
    }

    /** @return the bound of the clip (1 by default) */
    public double clipSampleRange() {
        return clipSampleRange;
    }

    /**
     * @param range diffusers' clip_sample_range, finite and &gt; 0 (used while clipSample is on)
     * @return this scheduler
     */
    @SuppressWarnings("unchecked")
    public S clipSampleRange(double range) {
        if (!(range > 0) || Double.isInfinite(range))
            throw DeepKernException.invalidArgument(name() + ".clipSampleRange", "range", "expected a finite range > 0, got " + range);
        clipSampleRange = range;
        return (S) this;
    }

    @Override
    public final void setTimesteps(int n) {
        timesteps = makeTimesteps(n);
        restart();
    }

    /**
     * @param n the number of inference steps, checked here
     * @return the grid of n inference steps
     */
    protected abstract double[] makeTimesteps(int n);

    /**
     * The step from x at the i-th timestep: coefficients and one {@link #launch}.
     *
     * @param i the step's index in the grid
     * @param in its operands
     * @return the next sample and x0
     */
    protected abstract SchedulerOutput stepAt(int i, StepInput in);

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
        Call c = new Call(name() + ".scaleModelInput");
        return c.tensor("x", x).reshape(x.shape());  // a view, so the caller closes every model input alike
    }

    @Override
    @SuppressWarnings("unchecked")
    public S generator(Generator generator) {
        if (generator == null) throw DeepKernException.invalidArgument(name() + ".generator", "generator", "expected a generator, got null");
        this.generator = generator;
        return (S) this;
    }

    @Override
    public Generator generator() {
        return generator;
    }

    /**
     * The operands of one step.
     *
     * @param op the public call, for messages
     * @param cond the (conditional) model output
     * @param uncond the unconditional one, or null
     * @param guidance the guidance scale
     * @param x the sample
     */
    protected record StepInput(String op, Tensor cond, Tensor uncond, double guidance, Tensor x) {}

    @Override
    public final SchedulerOutput step(Tensor modelOutput, Tensor uncond, double guidance, double t, Tensor x) {
        Call c = new Call(name() + ".step");
        c.tensor("x", x);
        like(c, "modelOutput", modelOutput, "x", x);
        if (uncond != null) like(c, "uncond", uncond, "x", x);
        c.finite("guidance", guidance);
        int i = stepIndexOf(c, t);
        SchedulerOutput out = stepAt(i, new StepInput(c.op(), modelOutput, uncond, guidance, x));
        stepIndex = i + 1;
        if (stepIndex == timesteps.length) clearState();
        return out;
    }

    /** The index of t: the next step's when t is its timestep, else the first occurrence (a jump). */
    private int stepIndexOf(Call c, double t) {
        if (stepIndex < timesteps.length && timesteps[stepIndex] == t) return stepIndex;
        int i = index(c, t);
        clearState();  // out of order: multistep state no longer applies
        return i;
    }

    /** The index of t's first occurrence in the grid; c names the call in messages. */
    int index(Call c, double t) {
        if (timesteps.length == 0) throw c.invalid("t", "no timesteps: call setTimesteps first");
        for (int i = 0; i < timesteps.length; i++) if (timesteps[i] == t) return i;
        throw c.invalid("t", t + " is not one of the " + timesteps.length + " timesteps of the schedule");
    }

    /** Checks t against the reference tensor: given, open, on its device, of its shape and dtype. */
    private static void like(Call c, String name, Tensor t, String refName, Tensor ref) {
        c.tensor(name, t);
        if (!Arrays.equals(t.shape(), ref.shape()))
            throw c.invalid(name, "expected " + refName + "'s shape " + Arrays.toString(ref.shape()) + ", got " + Arrays.toString(t.shape()));
        if (t.dtype() != ref.dtype())
            throw c.invalid(name, "expected " + refName + "'s dtype " + ref.dtype() + ", got " + t.dtype());
    }

    private void restart() {
        stepIndex = 0;
        clearState();
    }

    /**
     * The x0 and eps of the step from the model output at level lv, and x0 as the second output.
     *
     * @param lv the model input's noise level
     * @param xScale the factor from the sample x to the model input
     * @param clippedEps whether eps, when x0 is clipped, is re-derived from the clipped x0
     * @return the coefficients; the scheduler adds its out
     */
    protected StepCoefs convert(NoiseLevel lv, double xScale, boolean clippedEps) {
        Prediction.Linear x0 = prediction.x0(lv.a(), lv.b()), eps = prediction.eps(lv.a(), lv.b());
        StepCoefs c = new StepCoefs().x0(x0.x() * xScale, x0.other(), clipSample ? clipSampleRange : 0).out2(0, 1, 0);
        // the model input is a x0 + b eps, so eps = (input - a x0) / b
        return clipSample && clippedEps ? c.eps(xScale / lv.b(), 0, -lv.a() / lv.b()) : c.eps(eps.x() * xScale, eps.other(), 0);
    }

    /**
     * Adds sigma z to the step's output, z drawn from the generator (nothing when sigma is 0).
     *
     * @param c the step's coefficients
     * @param sigma the noise's standard deviation
     * @param x the sample, whose size the draw has
     * @return c
     */
    protected StepCoefs noise(StepCoefs c, double sigma, Tensor x) {
        if (sigma > 0) {
            long[] draw = Access.reserve(generator, x.numel());
            c.noise(sigma, draw[0], draw[1]);
        }
        return c;
    }

    /**
     * Runs the step: out and out2 (x0 unless the scheduler set other out2 coefficients) into new
     * tensors like x.
     *
     * @param c the step's coefficients
     * @param in the operands
     * @param extra1 the extra1 operand, or null
     * @param extra2 the extra2 operand, or null
     * @return out as prevSample, out2 as predOriginalSample
     */
    protected SchedulerOutput launch(StepCoefs c, StepInput in, Tensor extra1, Tensor extra2) {
        Call call = new Call(in.op());
        Tensor x = call.tensor("x", in.x()), out = call.output(x.dtype(), x.shape()), out2 = null;
        try {
            out2 = call.output(x.dtype(), x.shape());
            Diffusion.step(call, c.guidance(in.guidance()), x, in.cond(), in.uncond(), extra1, extra2, out, out2);
            return new SchedulerOutput(out, out2);
        } catch (RuntimeException e) {
            out.close();
            if (out2 != null) out2.close();
            throw e;
        }
    }

    /**
     * The level of the sample x at the i-th timestep: that of the model input unless
     * {@link #scaleModelInput} scales it.
     *
     * @param i the index in the grid
     * @return x = a x0 + b eps at that timestep
     */
    protected NoiseLevel sampleLevel(int i) {
        return level(i);
    }

    /** The level x = a x0 + b eps of the sample at timestep t for addNoise: a timestep of the grid here. */
    NoiseLevel sampleLevelAt(Call c, double t) {
        return sampleLevel(index(c, t));
    }

    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double t) {
        Call c = noising(original, noise);
        NoiseLevel lv = sampleLevelAt(c, t);
        return Call.fresh(c.output(original.dtype(), original.shape()), out ->
                Diffusion.step(c, new StepCoefs().out(lv.a(), 0, 0).extras(lv.b(), 0), original, original, null, noise, null, out, null));
    }

    @Override
    public Tensor addNoise(Tensor original, Tensor noise, double[] t) {
        Call c = noising(original, noise);
        if (t == null) throw c.invalid("t", "expected one timestep per row, got null");
        if (original.ndim() == 0 || t.length != original.shape(0))
            throw c.invalid("t", "expected one timestep per row of original " + Arrays.toString(original.shape()) + ", got " + t.length);
        float[] a = new float[t.length], b = new float[t.length];
        for (int r = 0; r < t.length; r++) {
            NoiseLevel lv = sampleLevelAt(c, t[r]);
            a[r] = (float) lv.a();
            b[r] = (float) lv.b();
        }
        long[] column = new long[original.ndim()];  // [rows, 1, ..., 1]: broadcasts over each row
        Arrays.fill(column, 1);
        column[0] = t.length;
        Device d = original.device();
        // in f32, so the per-row scalars are not rounded to a narrower dtype
        try (Tensor ac = Tensor.of(a, column, d); Tensor bc = Tensor.of(b, column, d);
             Tensor x0 = original.to(DType.F32); Tensor z = noise.to(DType.F32);
             Tensor ax = x0.mul(ac); Tensor bz = z.mul(bc); Tensor sum = ax.add(bz)) {
            return sum.to(original.dtype());  // a view of sum when f32: it outlives sum's close
        }
    }

    /** The checks of addNoise: x0 given, open and floating; noise like it. */
    private Call noising(Tensor original, Tensor noise) {
        Call c = new Call(name() + ".addNoise");
        c.tensor("original", original);
        if (!original.dtype().isFloating()) throw c.invalid("original", "expected a floating dtype, got " + original.dtype());
        like(c, "noise", noise, "original", original);
        return c;
    }

    @Override
    public Tensor sample(Denoiser denoiser, Device device, long[] shape, Generator generator, IntConsumer progress) {
        Call c = new Call(name() + ".sample");
        if (timesteps.length == 0) throw c.invalid("steps", "no timesteps: call setTimesteps first");
        c.required("denoiser", denoiser, "a denoiser");
        c.required("device", device, "a device");
        c.required("shape", shape, "extents");
        generator(c.required("generator", generator, "a generator"));
        restart();
        Tensor x = Tensor.randn(shape, DType.F32, device, generator);
        try {
            if (initNoiseSigma() != 1) {
                try (Tensor z = x) {
                    x = z.mul(initNoiseSigma());
                }
            }
            for (int i = 0; i < timesteps.length; i++) {
                double t = timesteps[i];
                try (Tensor in = scaleModelInput(x, t);
                     Tensor m = denoiser.predict(in, level(i));
                     SchedulerOutput out = step(m, t, x)) {
                    x.close();
                    x = out.takePrevSample();
                }
                if (progress != null) progress.accept(i + 1);
            }
            return x;
        } catch (RuntimeException e) {
            x.close();
            restart();
            throw e;
        }
    }

    /** @return the scheduler's name in messages */
    protected String name() {
        return getClass().getSimpleName();
    }
}
