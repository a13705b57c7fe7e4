package org.deepkern.autograd;

import java.util.Arrays;
import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.Recorder;

/**
 * Reverse-mode automatic differentiation by a tape (DJL's {@code GradientCollector}, TensorFlow's
 * {@code GradientTape}): while a tape is open on a thread, every op of {@link org.deepkern.ops.F},
 * every {@link Tensor} op and every module's forward whose inputs need a gradient appends a node to
 * it (the backward function the op already has, and the tensors that function reads); {@link
 * #backward} runs the nodes newest first and accumulates the gradients of the leaves ({@link
 * Tensor#requiresGrad(boolean)}; a module's parameters) into their {@link Tensor#grad()}.
 *
 * <pre>{@code
 * try (Tape tape = Tape.open()) {
 *     Tensor loss = F.mseLoss(model.forward(x), y, Reduction.MEAN);
 *     tape.backward(loss);          // parameters' grad() += d loss / d parameter
 * }
 * optimizer.step();
 * }</pre>
 *
 * <p>Memory is released deterministically, not by the garbage collector: the tape holds aliases of
 * the tensors a backward reads (so the caller may close its own tensors, or its {@link
 * org.deepkern.Scope}, before backward), backward closes each node's aliases as soon as the node has
 * run and every intermediate gradient once it has been passed on, and closing the tape frees what a
 * backward did not reach. After a backward the tape is empty and records on, so one tape may serve
 * a whole training loop; gradients accumulate across backward passes until {@link
 * Tensor#clearGrad()} (an optimizer's {@code zeroGrad()}).
 *
 * <p>Tapes nest: ops record into the innermost one. A tape belongs to the thread that opened it.
 * An op's out form (one taking an {@code out} tensor) and in-place tensor ops are not recorded; an
 * in-place op on a tensor that needs a gradient is refused while a tape records. Gradients of
 * gradients (torch's {@code create_graph}) are not supported: backward runs with recording paused.
 */
public final class Tape implements AutoCloseable {
    private Recorder.TapeFrame frame;

    private Tape(Recorder.TapeFrame frame) {
        this.frame = frame;
    }

    /**
     * Opens a tape on this thread: ops record into it until a newer one opens or it closes.
     *
     * @return the tape; close it (try-with-resources)
     */
    public static Tape open() {
        return new Tape(Recorder.open());
    }

    /**
     * @return whether an op run now on this thread is recorded: a tape is open and no {@link
     *     #noGrad()} section is
     */
    public static boolean isRecording() {
        return Recorder.recording();
    }

    /**
     * Opens a section in which nothing records (torch's {@code no_grad}).
     *
     * @return the section; close it (try-with-resources)
     */
    public static NoGrad noGrad() {
        return new NoGrad();
    }

    /**
     * The backward pass from a one-element loss (torch's {@code loss.backward()}), seeded with 1.
     *
     * @param loss a tensor of one element this tape recorded
     */
    public void backward(Tensor loss) {
        final String op = "Tape.backward";
        checkOpen(op);
        Call c = new Call(op);
        c.tensor("loss", loss);
        if (loss.numel() != 1) throw c.invalid("loss", "expected one element (pass the gradient of a larger output "
                + "with backward(output, gradOutput)), got shape " + Arrays.toString(loss.shape()));
        try (Tensor one = Tensor.ones(loss.shape(), loss.dtype(), loss.device())) {
            Recorder.backward(frame, op, loss, one);
        }
    }

    /**
     * The backward pass from an output given its gradient (torch's {@code output.backward(gradient)}).
     *
     * @param output a tensor this tape recorded
     * @param gradOutput the gradient of the loss with respect to output: its shape and device (the
     *     caller keeps it)
     */
    public void backward(Tensor output, Tensor gradOutput) {
        final String op = "Tape.backward";
        checkOpen(op);
        Call c = new Call(op);
        c.tensor("output", output);
        c.tensor("gradOutput", gradOutput);
        if (!Arrays.equals(output.shape(), gradOutput.shape())) throw c.invalid("gradOutput", "expected output's shape "
                + Arrays.toString(output.shape()) + ", got " + Arrays.toString(gradOutput.shape()));
        if (gradOutput.dtype() != output.dtype()) {
            try (Tensor cast = gradOutput.to(output.dtype())) {
                Recorder.backward(frame, op, output, cast);
            }
        } else {
            Recorder.backward(frame, op, output, gradOutput);
        }
    }

    /**
     * Records an op of the caller's own (torch's {@code autograd.Function}): a no-op unless a tape
     * records on this thread and some input needs a gradient; then the outputs need one too and a
     * backward pass through them calls backward.
     *
     * @param op the op's name, for messages
     * @param inputs the tensors whose gradients backward returns, in its order (nulls allowed)
     * @param outputs the tensors the op made
     * @param saved the tensors backward reads; the tape keeps aliases of them (no copy), so the
     *     caller may close its own
     * @param backward the gradients of the inputs from those of the outputs
     */
    public static void record(String op, Tensor[] inputs, Tensor[] outputs, Tensor[] saved, Backward backward) {
        if (op == null || inputs == null || outputs == null || saved == null || backward == null)
            throw DeepKernException.invalidArgument("Tape.record", "op, inputs, outputs, saved, backward",
                    "expected all given (empty arrays for none), got a null");
        Recorder.record(op, inputs, outputs, saved, backward::apply);
    }

    /** Frees every node the tape still holds and stops its recording; closing twice is harmless. */
    @Override
    public void close() {
        if (frame == null) return;
        Recorder.close(frame);
        frame = null;
    }

    private void checkOpen(String op) {
        if (frame == null) throw DeepKernException.invalidArgument(op, "this", "the tape is closed");
    }
}
