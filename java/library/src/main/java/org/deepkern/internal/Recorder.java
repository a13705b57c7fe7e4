package org.deepkern.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;

/**
 * The reverse-mode engine behind org.deepkern.autograd: per thread, a stack of open tapes; an op
 * whose inputs need a gradient appends a node (its backward function, aliases of the tensors that
 * function reads, and an edge per input) to the innermost tape while that tape records; a backward
 * pass walks the tape newest first, which is a topological order, and frees each node as soon as it
 * has run. Ops call {@link #recording()} first, so with no tape open recording costs one
 * thread-local read. Not part of the public API: the public face is org.deepkern.autograd.Tape.
 */
public final class Recorder {
    /** An op's backward: one gradient per input (null where none is needed) from one per output. */
    @FunctionalInterface
    public interface BackwardFn {
        Tensor[] apply(Tensor[] gradOutputs, Tensor[] saved);
    }

    /**
     * One open tape: its nodes in recording order and how many no-grad sections are open over it. A
     * probe only marks which outputs would need a gradient: it saves nothing and cannot run backward.
     */
    public static final class TapeFrame {
        private final List<Node> nodes = new ArrayList<>();
        private final boolean probe;
        private int paused;

        private TapeFrame(boolean probe) {
            this.probe = probe;
        }
    }

    /** Where an input's gradient goes: a node's output, or a leaf's slot. */
    private record Edge(Node node, int output, GradSlot leaf, long[] leafShape, DType leafDtype) {}

    private static final class Node {
        final String op;
        final Edge[] inputs;
        final GradSlot[] outSlots;
        final long[][] outShapes;
        final DType[] outDtypes;
        final Device[] outDevices;
        Tensor[] saved;
        BackwardFn fn;

        Node(String op, Edge[] inputs, Tensor[] outputs, Tensor[] saved, BackwardFn fn) {
            this.op = op;
            this.inputs = inputs;
            this.saved = saved;
            this.fn = fn;
            int n = outputs.length;
            outSlots = new GradSlot[n];
            outShapes = new long[n][];
            outDtypes = new DType[n];
            outDevices = new Device[n];
            for (int i = 0; i < n; i++) {
                outShapes[i] = outputs[i].shape();
                outDtypes[i] = outputs[i].dtype();
                outDevices[i] = outputs[i].device();
            }
        }

        /** Closes the saved aliases and cuts the outputs loose: their tensors become plain values. */
        void release() {
            if (saved != null) for (Tensor t : saved) if (t != null) t.close();
            saved = null;
            fn = null;
            for (GradSlot s : outSlots) if (s != null && s.node == this) s.node = null;
        }
    }

    private static final ThreadLocal<ArrayDeque<TapeFrame>> TAPES = ThreadLocal.withInitial(ArrayDeque::new);

    private Recorder() {}

    /** @return whether an op run now is recorded: a tape is open on this thread and not paused */
    public static boolean recording() {
        TapeFrame top = TAPES.get().peek();
        return top != null && top.paused == 0;
    }

    /** @return whether any of ts (nulls allowed) needs a gradient */
    public static boolean needsGrad(Tensor... ts) {
        for (Tensor t : ts) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /** Opens a tape on this thread; ops record into it until a newer one opens or it closes. */
    public static TapeFrame open() {
        return open(false);
    }

    /**
     * Opens a probe: ops run under it mark their outputs as needing a gradient as a tape would, but
     * nothing is saved (what a checkpointed segment's forward needs to know, at no memory cost).
     */
    public static TapeFrame openProbe() {
        return open(true);
    }

    private static TapeFrame open(boolean probe) {
        TapeFrame f = new TapeFrame(probe);
        TAPES.get().push(f);
        return f;
    }

    /** Closes a tape: frees every node it still holds. */
    public static void close(TapeFrame f) {
        TAPES.get().remove(f);
        free(f);
    }

    /** Pauses recording on the innermost tape (a no-grad section); returns what {@link #resume} takes. */
    public static TapeFrame pause() {
        TapeFrame top = TAPES.get().peek();
        if (top != null) top.paused++;
        return top;
    }

    /** Ends a no-grad section {@link #pause} began. */
    public static void resume(TapeFrame f) {
        if (f != null) f.paused--;
    }

    /**
     * Records an op, if a tape records and some input needs a gradient: its outputs then need one too.
     *
     * @param op the public call's name, for messages
     * @param inputs the tensors whose gradients fn returns, in its order (nulls allowed: no gradient)
     * @param outputs the tensors the op made
     * @param saved what fn reads; the tape keeps its own aliases, so the caller may close these
     * @param fn the backward
     */
    public static void record(String op, Tensor[] inputs, Tensor[] outputs, Tensor[] saved, BackwardFn fn) {
        if (!recording() || !needsGrad(inputs)) return;
        append(op, inputs, outputs, saved, fn);
    }

    /**
     * Records an op whose gradient reaches leaves its inputs do not show (a checkpointed segment's
     * parameters), if a tape records.
     */
    public static void recordAlways(String op, Tensor[] inputs, Tensor[] outputs, Tensor[] saved, BackwardFn fn) {
        if (recording()) append(op, inputs, outputs, saved, fn);
    }

    private static void append(String op, Tensor[] inputs, Tensor[] outputs, Tensor[] saved, BackwardFn fn) {
        TapeFrame tape = TAPES.get().peek();
        if (tape.probe) {
            mark(tape, new Node(op, new Edge[0], outputs, new Tensor[0], null), outputs);
            return;
        }
        Edge[] edges = new Edge[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            Tensor t = inputs[i];
            if (t == null || !t.requiresGrad()) continue;
            GradSlot s = Access.gradSlot(t);
            edges[i] = s.node != null
                    ? new Edge((Node) s.node, s.outputIndex, null, null, null)
                    : new Edge(null, 0, s, t.shape(), t.dtype());
        }
        Tensor[] aliases = new Tensor[saved.length];
        tape.paused++;
        try {
            for (int i = 0; i < saved.length; i++) {
                if (saved[i] != null) aliases[i] = Scope.detach(saved[i].to(saved[i].dtype()));  // a view: no copy
            }
        } finally {
            tape.paused--;
        }
        mark(tape, new Node(op, edges, outputs, aliases, fn), outputs);
    }

    /** Makes node the maker of outputs and appends it to tape. */
    private static void mark(TapeFrame tape, Node node, Tensor[] outputs) {
        for (int i = 0; i < outputs.length; i++) {
            GradSlot s = Access.gradSlot(outputs[i]);
            s.node = node;
            s.outputIndex = i;
            node.outSlots[i] = s;
        }
        tape.nodes.add(node);
    }

    /**
     * The backward pass from output, seeded with gradOutput (the caller keeps it): every node of
     * the tape that output depends on runs, newest first, and the leaves' gradients accumulate into
     * their {@link Tensor#grad()}. The tape is empty afterwards, its saved tensors closed, and it
     * records on.
     */
    public static void backward(TapeFrame tape, String op, Tensor output, Tensor gradOutput) {
        GradSlot start = output.requiresGrad() ? Access.gradSlot(output) : null;
        if (start == null) throw DeepKernException.invalidArgument(op, "output", "expected a tensor that needs a gradient (made by an op "
                + "this tape recorded from a tensor with requiresGrad), got one that does not");
        Grads grads = new Grads();
        TapeFrame top = TAPES.get().peek();
        if (top != null) top.paused++;
        try {
            if (start.node == null) {  // backward of a leaf: its gradient is the seed
                Tensor seed = gradOutput.clone();
                grads.retain(seed);
                grads.toLeaf(new Edge(null, 0, start, output.shape(), output.dtype()), seed);
                grads.release(seed);  // closed unless the leaf took it
                return;
            }
            Node first = (Node) start.node;
            int at = tape.nodes.lastIndexOf(first);
            if (at < 0) throw DeepKernException.invalidArgument(op, "output", "expected a tensor this tape recorded, got one another "
                    + "tape recorded (or one whose graph an earlier backward freed)");
            grads.put(first, start.outputIndex, gradOutput.clone());
            for (int i = at; i >= 0; i--) {
                Node n = tape.nodes.get(i);
                Tensor[] gOut = grads.take(n);
                if (gOut == null) continue;
                Tensor[] gIn = n.fn.apply(gOut, n.saved);
                n.release();
                for (Tensor g : gIn) if (g != null) grads.retain(g);  // held while handed on
                for (int k = 0; k < n.inputs.length; k++) {
                    Edge e = n.inputs[k];
                    Tensor g = k < gIn.length ? gIn[k] : null;
                    if (e == null || g == null) continue;
                    if (e.node != null) grads.put(e.node, e.output, g);
                    else grads.toLeaf(e, g);
                }
                for (Tensor g : gIn) grads.release(g);
                for (Tensor g : gOut) grads.release(g);
            }
        } finally {
            if (top != null) top.paused--;
            grads.closeAll();
            free(tape);
        }
    }

    private static void free(TapeFrame tape) {
        for (Node n : tape.nodes) n.release();
        tape.nodes.clear();
    }

    /**
     * The gradients in flight, counted by reference: a backward may hand the same tensor to
     * several inputs (an addition's both operands), so a tensor is closed when its last holder lets go.
     */
    private static final class Grads {
        private final Map<Node, Tensor[]> pending = new IdentityHashMap<>();
        private final Map<Tensor, Integer> refs = new IdentityHashMap<>();
        private final Map<Tensor, Boolean> adopted = new IdentityHashMap<>();  // now a leaf's gradient

        void retain(Tensor t) {
            refs.merge(t, 1, Integer::sum);
        }

        void release(Tensor t) {
            if (t == null || adopted.containsKey(t)) return;
            Integer n = refs.get(t);
            if (n == null) {  // made by a backward and passed to nobody
                t.close();
            } else if (n == 1) {
                refs.remove(t);
                t.close();
            } else {
                refs.put(t, n - 1);
            }
        }

        /** Adds g to output i of node (out of place: g may be held elsewhere too). */
        void put(Node node, int i, Tensor g) {
            Tensor[] slot = pending.computeIfAbsent(node, k -> new Tensor[k.outSlots.length]);
            if (slot[i] == null) {
                slot[i] = g;
                retain(g);
            } else {
                Tensor sum = slot[i].add(g);
                release(slot[i]);
                slot[i] = sum;
                retain(sum);
            }
        }

        /** The gradients of node's outputs (zeros where none arrived), or null if none did: the node does not run. */
        Tensor[] take(Node node) {
            Tensor[] g = pending.remove(node);
            if (g == null) return null;
            for (int i = 0; i < g.length; i++) {
                if (g[i] == null) {
                    g[i] = Tensor.zeros(node.outShapes[i], node.outDtypes[i], node.outDevices[i]);
                    retain(g[i]);
                }
            }
            return g;
        }

        /** Accumulates g into a leaf's gradient, which the leaf owns outside every scope. */
        void toLeaf(Edge e, Tensor g) {
            GradSlot s = e.leaf;
            if (!Arrays.equals(g.shape(), e.leafShape)) throw new IllegalStateException("a backward gave a gradient of "
                    + "shape " + Arrays.toString(g.shape()) + " for a leaf of shape " + Arrays.toString(e.leafShape));
            if (s.grad != null) {
                s.grad.add_(g);
            } else if (g.dtype() == e.leafDtype && g.isContiguous() && refs.getOrDefault(g, 0) <= 1) {
                adopted.put(g, Boolean.TRUE);  // nobody else holds it: the leaf takes it
                s.grad = Scope.detach(g);
            } else {
                s.grad = Scope.detach(g.dtype() == e.leafDtype ? g.clone() : g.to(e.leafDtype));  // both compact copies
            }
        }

        void closeAll() {
            for (Tensor[] gs : pending.values()) for (Tensor g : gs) release(g);
            pending.clear();
        }
    }
}
