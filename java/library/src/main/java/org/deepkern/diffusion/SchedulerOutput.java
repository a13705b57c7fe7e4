package org.deepkern.diffusion;

import org.deepkern.Tensor;

/**
 * What one {@link Scheduler#step} returns, as diffusers' DDIMSchedulerOutput: the sample at the
 * next timestep and the step's prediction of x0, both new tensors shaped like x. Closing the
 * output closes both, except a prevSample handed over by {@link #takePrevSample}; the loop of
 * {@link Scheduler} shows the pattern that keeps one sample alive at a time.
 */
public final class SchedulerOutput implements AutoCloseable {
    private final Tensor prevSample;
    private final Tensor predOriginalSample;
    private boolean taken;

    SchedulerOutput(Tensor prevSample, Tensor predOriginalSample) {
        this.prevSample = prevSample;
        this.predOriginalSample = predOriginalSample;
    }

    /** @return x at the next timestep (diffusers' prev_sample), owned by this output until taken */
    public Tensor prevSample() {
        return prevSample;
    }

    /**
     * @return the step's x0 (diffusers' pred_original_sample): clamped when the scheduler clips
     *     the sample, and for the multistep and second-order schedulers the x0 of this call's model
     *     output
     */
    public Tensor predOriginalSample() {
        return predOriginalSample;
    }

    /** @return prevSample, now the caller's to close: {@link #close} leaves it open */
    public Tensor takePrevSample() {
        taken = true;
        return prevSample;
    }

    /** Closes predOriginalSample, and prevSample unless it was taken. Closing twice is harmless. */
    @Override
    public void close() {
        predOriginalSample.close();
        if (!taken) prevSample.close();
    }
}
