package org.deepkern.internal;

import java.util.Arrays;
import java.util.function.Consumer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_context;
import org.deepkern.bindings.dk_tensor;

/**
 * One public call as its arguments are checked: each tensor must be given, open, and on the
 * device of the call's first tensor; every failure, Java-side or native, becomes a
 * {@link DeepKernException} that names the public method the user called and the argument by
 * its Java name. Not part of the public API.
 */
public final class Call {
    private final String op;
    private Tensor first;
    private String firstName;
    private boolean inputNeedsGrad;  // some tensor argument needs a gradient
    private final java.util.List<Tensor> made = new java.util.ArrayList<>(2);  // the outputs this call made itself

    public Call(String op) {
        this.op = op;
    }

    /** The public method's name, as messages give it ({@code F.conv2d}). */
    public String op() {
        return op;
    }

    /** t, checked: not null, not closed, on the device of the first tensor argument. */
    public Tensor tensor(String name, Tensor t) {
        if (t == null) throw invalid(name, "expected a tensor, got null");
        if (t.isClosed()) throw invalid(name, "tensor is closed");
        if (first == null) {
            first = t;
            firstName = name;
        } else if (!t.device().equals(first.device())) {
            throw invalid(name, "'" + firstName + "' is on " + first.device() + ", '" + name + "' on " + t.device()
                    + ": move one with to(device)");
        }
        inputNeedsGrad |= t.requiresGrad();
        return t;
    }

    /**
     * The native handle of a checked tensor argument. A caller's {@code out} tensor is refused while
     * a tape records and an input needs a gradient: an out form is not recorded (torch refuses it too).
     */
    public dk_tensor in(String name, Tensor t) {
        if (inputNeedsGrad && name.equals("out") && made.stream().noneMatch(m -> m == t) && Recorder.recording()) throw invalid("out", "an out form "
                + "is not recorded on a tape, and an input needs a gradient: call the form that returns its result (or "
                + "run under Tape.noGrad())");
        return handle(tensor(name, t));
    }

    /** The native handle of a tensor already checked (or made by this call). */
    public static dk_tensor handle(Tensor t) {
        return Access.of(t).handle();
    }

    /** As {@link #handle}, or null for null. */
    public static dk_tensor handleOrNull(Tensor t) {
        return t == null ? null : handle(t);
    }

    /** As {@link #in}, or null for a null (optional) argument. */
    public dk_tensor optional(String name, Tensor t) {
        return t == null ? null : in(name, t);
    }

    /** The call's device: that of its first tensor argument. */
    public Device device() {
        if (first == null) throw new IllegalStateException(op + ": no tensor argument checked yet");
        return first.device();
    }

    /** The native context of the call's device. */
    public dk_context context() {
        device();
        return Access.of(first).context();
    }

    /**
     * A new output on the call's device. Shapes come from the inputs, validated first (natively where
     * parameters size them), so a failure here is memory running out: said in this call's words.
     */
    public Tensor output(DType dtype, long... shape) {
        try {
            Tensor out = Tensor.empty(shape, dtype, device());
            made.add(out);
            return out;
        } catch (DeepKernException e) {
            throw new DeepKernException(e.status(), op + ": cannot make its output " + Arrays.toString(shape) + " of "
                    + dtype.name().toLowerCase() + ": " + e.getMessage());
        }
    }

    /** Throws the native failure of {@code status}, in this call's words. */
    public void check(int status) {
        if (status != 0) throw Native.error(op, status);
    }

    /**
     * As {@link #check(int)}, where the native call's arguments go by other names in this call:
     * renames holds pairs of native name and Java name ("x", "inputShape").
     */
    public void check(int status, String... renames) {
        if (status != 0) throw Native.error(op, status, renames);
    }

    /** Runs op on a freshly made output; closes the output if the op fails. */
    public static Tensor fresh(Tensor out, Consumer<Tensor> op) {
        try {
            op.accept(out);
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /** A native shape query: writes up to 16 extents and their count. */
    public interface ShapeQuery {
        int query(LongPointer shape, IntPointer ndim);
    }

    /** An output shape from a native shape query, its failure in this call's words (renames as in check). */
    public long[] shape(ShapeQuery q, String... renames) {
        try (LongPointer shape = new LongPointer(16); IntPointer ndim = new IntPointer(1)) {
            check(q.query(shape, ndim), renames);
            long[] out = new long[ndim.get()];
            shape.get(out);
            return out;
        }
    }

    /**
     * A description of a tensor with no data, on the call's device, for native shape queries
     * (which read no data): what a shape argument of a Java method would hold. Close it after.
     */
    public Described describe(String name, DType dtype, long[] shape) {
        if (shape == null) throw invalid(name, "expected a shape, got null");
        return new Described(device(), dtype, shape);
    }

    /** A tensor description without data (see {@link #describe}). */
    public static final class Described implements AutoCloseable {
        private final dk_tensor handle = new dk_tensor();
        private final LongPointer extents;

        Described(Device device, DType dtype, long[] shape) {
            extents = new LongPointer(Math.max(1, shape.length));
            extents.put(shape);
            handle.data(null).ndim(shape.length).shape(extents).strides(null).byte_offset(0);
            handle.device().device_type(device.type().code()).device_id(device.index());
            handle.dtype().code((byte) dtype.code()).bits((byte) dtype.bits()).lanes((short) 1);
        }

        public dk_tensor handle() {
            return handle;
        }

        @Override
        public void close() {
            handle.close();
            extents.close();
        }
    }

    /** An argument of this call is invalid. */
    public DeepKernException invalid(String argument, String problem) {
        return DeepKernException.invalidArgument(op, argument, problem);
    }

    /** A number argument that must be finite. */
    public double finite(String name, double v) {
        if (!Double.isFinite(v)) throw invalid(name, "expected a finite number, got " + v);
        return v;
    }

    /** A reference argument that must be given. */
    public <T> T required(String name, T v, String expected) {
        if (v == null) throw invalid(name, "expected " + expected + ", got null");
        return v;
    }
}
