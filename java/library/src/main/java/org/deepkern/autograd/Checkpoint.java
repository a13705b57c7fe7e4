package org.deepkern.autograd;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.DeepKernException;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Access;
import org.deepkern.internal.GradSlot;
import org.deepkern.internal.Recorder;
import org.deepkern.nn.Module;

/**
 * Gradient checkpointing (Chen et al. 2016; torch's {@code torch.utils.checkpoint} with
 * {@code use_reentrant=False}): a segment's activations are not kept for the backward pass; the
 * backward runs the segment's forward again on a tape of its own and backpropagates through that.
 * Checkpointing n layers in √n segments keeps O(√n) activations for one extra forward.
 *
 * <p>The recomputation sees the same values: the segment's inputs are kept, and the default
 * {@link Generator}'s counter (and that of any generator passed to {@link #checkpoint(Segment,
 * Generator[], Tensor...)}) is set back to where the forward found it, so noise a segment draws is
 * bit-identical (Philox is counter-based), and restored afterwards. The gradients equal those of
 * the plain run bit for bit, as the same kernels run on the same values in the same order.
 */
public final class Checkpoint {
    private Checkpoint() {}

    /** A piece of a model: a function of tensors (it may read any module's parameters). */
    @FunctionalInterface
    public interface Segment {
        /**
         * @param inputs the segment's inputs
         * @return its output, a new tensor
         */
        Tensor apply(Tensor... inputs);
    }

    /**
     * segment(inputs), its activations recomputed in the backward pass instead of kept.
     *
     * @param segment the function; it must be deterministic given its inputs and the generators' counters
     * @param inputs its inputs, kept until the backward pass
     * @return the output, recorded on the open tape as one op
     */
    public static Tensor checkpoint(Segment segment, Tensor... inputs) {
        return checkpoint(segment, new Generator[0], inputs);
    }

    /**
     * As {@link #checkpoint(Segment, Tensor...)}, restoring the counters of generators (beside the
     * default one) that the segment draws from.
     *
     * @param segment the function
     * @param generators the generators it draws from, besides the default
     * @param inputs its inputs
     * @return the output
     */
    public static Tensor checkpoint(Segment segment, Generator[] generators, Tensor... inputs) {
        final String op = "Checkpoint.checkpoint";
        if (segment == null) throw DeepKernException.invalidArgument(op, "segment", "expected a function, got null");
        if (inputs == null) throw DeepKernException.invalidArgument(op, "inputs", "expected tensors, got null");
        if (generators == null) throw DeepKernException.invalidArgument(op, "generators", "expected generators, got null");
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] == null || inputs[i].isClosed()) throw DeepKernException.invalidArgument(op, "inputs[" + i + "]",
                    "expected an open tensor, got " + (inputs[i] == null ? "null" : "a closed one"));
        }
        if (!Recorder.recording()) return segment.apply(inputs);
        Generator[] gens = new Generator[generators.length + 1];
        gens[0] = Generator.defaultGenerator();
        System.arraycopy(generators, 0, gens, 1, generators.length);
        long[] counters = new long[gens.length];
        for (int i = 0; i < gens.length; i++) counters[i] = gens[i].offset();

        // the forward runs under a probe, which saves nothing: it tells whether a gradient flows
        // through the segment (from its inputs or from parameters it reads)
        Tensor out;
        boolean flows;
        Recorder.TapeFrame probe = Recorder.openProbe();
        try {
            out = segment.apply(inputs);
            flows = out.requiresGrad();
        } finally {
            Recorder.close(probe);
        }
        if (!flows) return out;
        boolean[] wanted = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) wanted[i] = inputs[i].requiresGrad();
        Recorder.recordAlways(op, inputs, new Tensor[] {out}, inputs, (g, saved) -> {
            long[] now = new long[gens.length];
            for (int i = 0; i < gens.length; i++) {
                now[i] = gens[i].offset();
                gens[i].offset(counters[i]);
            }
            Tensor[] leaves = new Tensor[saved.length];
            try (Tape again = Tape.open()) {
                for (int i = 0; i < saved.length; i++) {
                    leaves[i] = saved[i].to(saved[i].dtype());  // a view: a leaf of the recomputation
                    if (wanted[i]) leaves[i].requiresGrad(true);
                }
                try (Tensor y = segment.apply(leaves)) {
                    if (y.requiresGrad()) again.backward(y, g[0]);
                }
                Tensor[] grads = new Tensor[saved.length];
                for (int i = 0; i < saved.length; i++) {
                    GradSlot s = Access.gradSlot(leaves[i]);
                    grads[i] = s.grad;  // handed to the outer backward, which owns it now
                    s.grad = null;
                }
                return grads;
            } finally {
                for (Tensor t : leaves) if (t != null) t.close();
                for (int i = 0; i < gens.length; i++) gens[i].offset(now[i]);
            }
        });
        return out;
    }

    /**
     * A chain of modules run in segments (torch's {@code checkpoint_sequential}): every segment
     * but the last is checkpointed, so only the segments' boundaries are kept; √n segments for n
     * modules give the O(√n) memory of Chen et al.
     *
     * @param modules the chain, in order
     * @param segments how many segments, 1 to modules.size()
     * @param input the first module's input
     * @return the last module's output
     */
    public static Tensor checkpointSequential(List<? extends Module> modules, int segments, Tensor input) {
        final String op = "Checkpoint.checkpointSequential";
        if (modules == null || modules.isEmpty()) throw DeepKernException.invalidArgument(op, "modules",
                "expected at least one module, got " + (modules == null ? "null" : "none"));
        if (segments < 1 || segments > modules.size()) throw DeepKernException.invalidArgument(op, "segments",
                "expected 1.." + modules.size() + " (one per module at most), got " + segments);
        if (input == null || input.isClosed()) throw DeepKernException.invalidArgument(op, "input", "expected an open tensor");
        int size = (modules.size() + segments - 1) / segments;
        List<List<? extends Module>> pieces = new ArrayList<>();
        for (int start = 0; start < modules.size(); start += size) {
            pieces.add(modules.subList(start, Math.min(modules.size(), start + size)));
        }
        Tensor x = input;
        for (int i = 0; i < pieces.size(); i++) {
            List<? extends Module> piece = pieces.get(i);
            Segment run = in -> runAll(piece, in[0]);
            Tensor y = i < pieces.size() - 1 ? checkpoint(run, x) : run.apply(x);
            if (x != input) x.close();
            x = y;
        }
        return x;
    }

    private static Tensor runAll(List<? extends Module> piece, Tensor input) {
        try (Scope scope = Scope.open()) {
            Tensor x = input;
            for (Module m : piece) x = m.forward(x);
            return scope.keep(x == input ? input.to(input.dtype()) : x);
        }
    }
}
