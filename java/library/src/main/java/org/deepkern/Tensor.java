package org.deepkern;

import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.deepkern.internal.Access;
import org.deepkern.internal.NativeTensor;

/**
 * An n-dimensional array in device memory (off-heap): compact row-major, with a shape, a dtype
 * and a device. Close it (or the {@link Scope} it was made in) to give the memory back at once;
 * a Cleaner frees what is left unreachable, as a safety net only. Views made by
 * {@link #reshape} share memory, which is freed when the last of them is closed.
 *
 * <p>Not thread-safe: do not close a tensor while another thread uses it.
 */
public final class Tensor implements AutoCloseable {
    static {
        Access.tensors(t -> t.memory);
    }

    /** The largest tensor in bytes, as the native validation allows (deepkern.h). */
    private static final long MAX_BYTES = 1L << 62;

    private final NativeTensor memory;
    private final long[] shape;
    private final DType dtype;
    private final long numel;
    private volatile boolean closed;

    private Tensor(NativeTensor memory, DType dtype, long[] shape) {
        this.memory = memory;
        this.shape = shape;
        this.dtype = dtype;
        this.numel = numel(shape);
        memory.cleanWith(this);
        Scope.register(this);
    }

    // ---- factories ----

    /**
     * A tensor whose elements are not set.
     *
     * @param dtype its element type
     * @param device where it lives
     * @param shape its extents, each at least 0
     * @return the new tensor
     */
    public static Tensor empty(DType dtype, Device device, long... shape) {
        return empty("Tensor.empty", dtype, device, shape);
    }

    private static Tensor empty(String op, DType dtype, Device device, long[] shape) {
        if (dtype == null) throw DeepKernException.invalidArgument(op, "dtype", "expected a dtype, got null");
        if (device == null) throw DeepKernException.invalidArgument(op, "device", "expected a device, got null");
        long[] s = checkShape(op, shape);
        if (numel(s) > MAX_BYTES / dtype.byteSize()) throw DeepKernException.invalidArgument(op, "shape",
                "size of " + Arrays.toString(s) + " in " + dtype.name().toLowerCase() + " overflows 64-bit byte counts");
        return new Tensor(NativeTensor.allocate(op, device, dtype, s, numel(s) * dtype.byteSize()), dtype, s);
    }

    /**
     * A tensor of zeros.
     *
     * @param dtype its element type
     * @param device where it lives
     * @param shape its extents
     * @return the new tensor
     */
    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return full("Tensor.zeros", 0.0, dtype, device, shape);
    }

    /**
     * An f32 tensor of zeros on the default device.
     *
     * @param shape its extents
     * @return the new tensor
     */
    public static Tensor zeros(long... shape) {
        return zeros(DType.F32, DeepKern.defaultDevice(), shape);
    }

    /**
     * A tensor whose every element is value, converted to dtype (integers saturate).
     *
     * @param value the value of every element
     * @param dtype its element type
     * @param device where it lives
     * @param shape its extents
     * @return the new tensor
     */
    public static Tensor full(double value, DType dtype, Device device, long... shape) {
        return full("Tensor.full", value, dtype, device, shape);
    }

    private static Tensor full(String op, double value, DType dtype, Device device, long[] shape) {
        Tensor t = empty(op, dtype, device, shape);
        return written(t, () -> t.memory.fill(op, value));
    }

    /**
     * f32 values on the default device.
     *
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); none means 1-D
     * @return the new tensor
     */
    public static Tensor of(float[] values, long... shape) {
        return of(DeepKern.defaultDevice(), values, shape);
    }

    /**
     * f32 values on a device.
     *
     * @param device where it lives
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); none means 1-D
     * @return the new tensor
     */
    public static Tensor of(Device device, float[] values, long... shape) {
        Tensor t = empty("Tensor.of", DType.F32, device, hostShape(values == null ? -1 : values.length, shape));
        try (FloatPointer host = new FloatPointer(values)) {
            return written(t, () -> t.copyFromHost("Tensor.of", host));
        }
    }

    /**
     * i32 values on a device.
     *
     * @param device where it lives
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); none means 1-D
     * @return the new tensor
     */
    public static Tensor of(Device device, int[] values, long... shape) {
        Tensor t = empty("Tensor.of", DType.I32, device, hostShape(values == null ? -1 : values.length, shape));
        try (IntPointer host = new IntPointer(values)) {
            return written(t, () -> t.copyFromHost("Tensor.of", host));
        }
    }

    /**
     * i64 values on a device.
     *
     * @param device where it lives
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); none means 1-D
     * @return the new tensor
     */
    public static Tensor of(Device device, long[] values, long... shape) {
        Tensor t = empty("Tensor.of", DType.I64, device, hostShape(values == null ? -1 : values.length, shape));
        try (LongPointer host = new LongPointer(values)) {
            return written(t, () -> t.copyFromHost("Tensor.of", host));
        }
    }

    /**
     * Standard normal f32 samples on the default device from the Philox4x32-10 stream with key
     * {@code seed}, counters from 0: the same seed gives the same bits on every backend.
     *
     * @param seed the Philox key
     * @param shape its extents
     * @return the new tensor
     */
    public static Tensor randn(long seed, long... shape) {
        return randn(DeepKern.defaultDevice(), DType.F32, seed, shape);
    }

    /**
     * Standard normal samples from the Philox4x32-10 stream with key {@code seed}, counters from 0.
     *
     * @param device where it lives
     * @param dtype a floating element type
     * @param seed the Philox key
     * @param shape its extents
     * @return the new tensor
     */
    public static Tensor randn(Device device, DType dtype, long seed, long... shape) {
        Tensor t = empty("Tensor.randn", dtype, device, shape);
        return written(t, () -> t.memory.randn("Tensor.randn", seed));
    }

    // ---- accessors ----

    /** @return a copy of the extents */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The extent of one dim; negative dims count from the end, as in torch.
     *
     * @param dim the dim, -ndim() to ndim() - 1
     * @return its extent
     */
    public long shape(int dim) {
        if (dim < -shape.length || dim >= shape.length) throw DeepKernException.invalidArgument("Tensor.shape", "dim",
                "expected " + -shape.length + ".." + (shape.length - 1) + " for shape " + Arrays.toString(shape) + ", got " + dim);
        return shape[dim < 0 ? dim + shape.length : dim];
    }

    /** @return the number of dims */
    public int ndim() {
        return shape.length;
    }

    /** @return the number of elements */
    public long numel() {
        return numel;
    }

    /** @return the element type */
    public DType dtype() {
        return dtype;
    }

    /** @return where the tensor lives */
    public Device device() {
        return memory.device();
    }

    /** @return whether {@link #close} was called */
    public boolean isClosed() {
        return closed;
    }

    // ---- views and conversions ----

    /**
     * A view with a new shape and the same elements.
     *
     * @param newShape the extents; one may be -1 (inferred)
     * @return the view, sharing this tensor's memory
     */
    public Tensor reshape(long... newShape) {
        ensureOpen("Tensor.reshape");
        if (newShape == null) throw DeepKernException.invalidArgument("Tensor.reshape", "shape", "expected extents, got null");
        long[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1 && infer < 0) infer = i;
            else if (s[i] < 0) throw DeepKernException.invalidArgument("Tensor.reshape", "shape",
                    "expected extents >= 0 (one may be -1), got " + Arrays.toString(newShape));
            else known = s[i] == 0 || known <= Long.MAX_VALUE / s[i] ? known * s[i] : -1;  // -1: overflow
        }
        if (known < 0) throw reshapeError(newShape);
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) throw reshapeError(newShape);
            s[infer] = numel / known;
        }
        if (known * (infer >= 0 ? s[infer] : 1) != numel) throw reshapeError(newShape);
        return new Tensor(memory.view(dtype, s), dtype, s);
    }

    /**
     * Same as {@link #reshape}: every deepkern tensor is contiguous, so every view is free.
     *
     * @param newShape the extents; one may be -1 (inferred)
     * @return the view
     */
    public Tensor view(long... newShape) {
        return reshape(newShape);
    }

    /**
     * This tensor with its dims reordered (torch {@code x.permute(dims).contiguous()}): a copy,
     * since deepkern tensors are compact.
     *
     * @param dims dim i of the result is dim {@code dims[i]} of this one
     * @return the copy
     */
    public Tensor permute(int... dims) {
        final String op = "Tensor.permute";
        ensureOpen(op);
        if (dims == null) throw DeepKernException.invalidArgument(op, "dims",
                "expected a permutation of the " + shape.length + " dims, got null");
        long[] s = memory.permutedShape(op, dims);
        Tensor out = empty(op, dtype, device(), s);
        return written(out, () -> memory.permuteInto(op, dims, out.memory));
    }

    /**
     * Elements {@code start .. start + length - 1} along a dim (torch {@code narrow_copy}): a copy.
     *
     * @param dim the dim
     * @param start the first element taken along it
     * @param length how many are taken
     * @return the copy
     */
    public Tensor narrow(int dim, long start, long length) {
        final String op = "Tensor.narrow";
        ensureOpen(op);
        long[] s = memory.narrowedShape(op, dim, start, length);
        Tensor out = empty(op, dtype, device(), s);
        return written(out, () -> memory.narrowInto(op, dim, start, out.memory));
    }

    /**
     * This tensor on another device (a copy), or a view of it when already there.
     *
     * @param device where the result lives
     * @return the copy or view
     */
    public Tensor to(Device device) {
        ensureOpen("Tensor.to");
        if (device == null) throw DeepKernException.invalidArgument("Tensor.to", "device", "expected a device, got null");
        if (device.equals(device())) return reshape(shape);
        Tensor out = empty("Tensor.to", dtype, device, shape);
        long bytes = numel * dtype.byteSize();
        try (BytePointer host = new BytePointer(Math.max(1, bytes))) {
            return written(out, () -> {
                copyToHost("Tensor.to", host);
                out.copyFromHost("Tensor.to", host);
            });
        }
    }

    /**
     * This tensor converted to another dtype (round to nearest even), or a view when equal.
     *
     * @param target the element type of the result
     * @return the copy or view
     */
    public Tensor to(DType target) {
        ensureOpen("Tensor.to");
        if (target == null) throw DeepKernException.invalidArgument("Tensor.to", "dtype", "expected a dtype, got null");
        if (target == dtype) return reshape(shape);
        Tensor out = empty("Tensor.to", target, device(), shape);
        return written(out, () -> memory.castInto("Tensor.to", out.memory));
    }

    /**
     * Writes src's elements into this tensor (torch {@code dest.copy_(src)}), converted to this
     * tensor's dtype: same shape and device.
     *
     * @param src the elements
     * @return this tensor
     */
    public Tensor copyFrom(Tensor src) {
        ensureOpen("Tensor.copyFrom");
        if (src == null) throw DeepKernException.invalidArgument("Tensor.copyFrom", "src", "expected a tensor, got null");
        src.ensureOpen("Tensor.copyFrom");
        if (!src.device().equals(device())) throw DeepKernException.invalidArgument("Tensor.copyFrom", "src",
                "'src' is on " + src.device() + ", this tensor on " + device() + ": move one with to(device)");
        src.memory.castInto("Tensor.copyFrom", memory);
        return this;
    }

    /**
     * Fills this tensor with standard normal samples from the Philox stream with key seed
     * (counters from 0), as {@link #randn(Device, DType, long, long...)} makes them.
     *
     * @param seed the Philox key
     * @return this tensor
     */
    public Tensor fillRandn(long seed) {
        ensureOpen("Tensor.fillRandn");
        memory.randn("Tensor.fillRandn", seed);
        return this;
    }

    /** @return the elements as f32, row-major (converted when the dtype is another) */
    public float[] toFloatArray() {
        ensureOpen("Tensor.toFloatArray");
        if (dtype != DType.F32) {
            try (Tensor f = to(DType.F32)) {
                return f.toFloatArray();
            }
        }
        float[] out = new float[arrayLength("Tensor.toFloatArray")];
        try (FloatPointer host = new FloatPointer(Math.max(1, numel))) {
            copyToHost("Tensor.toFloatArray", host);
            host.get(out);
        }
        return out;
    }

    /** @return the elements as i32, row-major (converted when the dtype is another) */
    public int[] toIntArray() {
        ensureOpen("Tensor.toIntArray");
        if (dtype != DType.I32) {
            try (Tensor i = to(DType.I32)) {
                return i.toIntArray();
            }
        }
        int[] out = new int[arrayLength("Tensor.toIntArray")];
        try (IntPointer host = new IntPointer(Math.max(1, numel))) {
            copyToHost("Tensor.toIntArray", host);
            host.get(out);
        }
        return out;
    }

    /** @return the elements as i64, row-major (converted when the dtype is another) */
    public long[] toLongArray() {
        ensureOpen("Tensor.toLongArray");
        if (dtype != DType.I64) {
            try (Tensor l = to(DType.I64)) {
                return l.toLongArray();
            }
        }
        long[] out = new long[arrayLength("Tensor.toLongArray")];
        try (LongPointer host = new LongPointer(Math.max(1, numel))) {
            copyToHost("Tensor.toLongArray", host);
            host.get(out);
        }
        return out;
    }

    /** Releases the device memory (once the last view is closed). Closing twice is harmless. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        memory.close();
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype.name().toLowerCase() + " " + Arrays.toString(shape) + " on " + device()
                + (closed ? ", closed]" : "]");
    }

    // ---- internals ----

    /** The native side, for the internal code that calls the C API ({@link Access}); checks the tensor is open. */
    NativeTensor memory(String op) {
        ensureOpen(op);
        return memory;
    }

    private void ensureOpen(String op) {
        if (closed) throw DeepKernException.invalidArgument(op, "this", "the tensor is closed: " + this);
    }

    private void copyFromHost(String op, Pointer host) {
        memory.copyFromHost(op, host, numel * dtype.byteSize());
    }

    private void copyToHost(String op, Pointer host) {
        memory.copyToHost(op, host, numel * dtype.byteSize());
    }

    /** t once write succeeded; closed (not leaked) when it failed. */
    private static Tensor written(Tensor t, Runnable write) {
        try {
            write.run();
            return t;
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /** numel as the length of a Java array, which holds fewer than 2^31 elements. */
    private int arrayLength(String op) {
        if (numel > Integer.MAX_VALUE - 8) throw DeepKernException.invalidArgument(op, "this", "the tensor has " + numel
                + " elements, more than a Java array holds; copy it out in parts (narrow)");
        return (int) numel;
    }

    private DeepKernException reshapeError(long[] newShape) {
        return DeepKernException.invalidArgument("Tensor.reshape", "shape", "expected " + numel
                + " elements (shape " + Arrays.toString(shape) + "), got shape " + Arrays.toString(newShape));
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    private static long[] checkShape(String op, long[] shape) {
        if (shape == null) throw DeepKernException.invalidArgument(op, "shape", "expected extents, got null");
        for (long d : shape) {
            if (d < 0) throw DeepKernException.invalidArgument(op, "shape",
                    "expected extents >= 0, got " + Arrays.toString(shape));
        }
        try {
            numel(shape);
        } catch (ArithmeticException e) {
            throw DeepKernException.invalidArgument(op, "shape", "size of " + Arrays.toString(shape) + " overflows a long");
        }
        return shape.clone();
    }

    /** The shape of Tensor.of's values: 1-D when none is given; length -1 for a null array. */
    private static long[] hostShape(int length, long[] shape) {
        final String op = "Tensor.of";
        if (length < 0) throw DeepKernException.invalidArgument(op, "values", "expected an array, got null");
        if (shape == null || shape.length == 0) return new long[] {length};
        long[] s = checkShape(op, shape);
        if (numel(s) != length) throw DeepKernException.invalidArgument(op, "shape",
                "shape " + Arrays.toString(shape) + " holds " + numel(s) + " elements, the array has " + length);
        return s;
    }
}
