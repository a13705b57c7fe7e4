package org.deepkern.autograd;

import org.deepkern.internal.Recorder;

/**
 * A section in which no op is recorded (torch's {@code torch.no_grad()}), from {@link Tape#noGrad()}
 * to {@link #close()}: for evaluation, for initializing parameters in place, for an optimizer's step.
 */
public final class NoGrad implements AutoCloseable {
    private Recorder.TapeFrame paused;

    NoGrad() {
        paused = Recorder.pause();
    }

    /** Ends the section; closing twice is harmless. */
    @Override
    public void close() {
        Recorder.resume(paused);
        paused = null;
    }
}
