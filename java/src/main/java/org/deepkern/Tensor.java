package org.deepkern;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Native.check;

import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.deepkern.bindings.dk_context;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.internal.Native;

/**
 * An n-dimensional array in device memory (off-heap): compact row-major, with a shape, a dtype
 * and a device. Close it (or the {@link Scope} it was made in) to give the memory back at once;
 * a Cleaner frees what is left unreachable, as a safety net only. Views made by
 * {@link #reshape} share memory, which is freed when the last of them is closed.
 *
 * <p>Not thread-safe: do not close a tensor while another thread uses it.
 */
public final class Tensor implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    /** Device memory shared by a tensor and its views. */
    private static final class Storage {
        final Device device;
        final dk_context ctx;
        final Pointer data;
        final AtomicInteger refs = new AtomicInteger();

        Storage(String op, Device device, long bytes) {
            this.device = device;
            this.ctx = Native.context(op, device);
            this.data = new Pointer((Pointer) null);
            Native.check(op, dk_malloc(ctx, bytes, data));
        }

        void release() {
            if (refs.decrementAndGet() == 0) check(dk_free(ctx, data));
        }
    }

    /** What the Cleaner (or close) releases; holds no reference to the Tensor itself. */
    private static final class Release implements Runnable {
        private final Storage storage;
        private final dk_tensor handle;
        private final LongPointer shape;

        Release(Storage storage, dk_tensor handle, LongPointer shape) {
            this.storage = storage;
            this.handle = handle;
            this.shape = shape;
        }

        @Override
        public void run() {
            handle.close();
            shape.close();
            storage.release();
        }
    }

    private final Storage storage;
    private final long[] shape;
    private final DType dtype;
    private final long numel;
    private final dk_tensor handle;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    private Tensor(Storage storage, DType dtype, long[] shape, long byteOffset) {
        this.storage = storage;
        this.shape = shape;
        this.dtype = dtype;
        this.numel = numel(shape);
        LongPointer shapePtr = new LongPointer(Math.max(1, shape.length));
        shapePtr.put(shape);
        handle = new dk_tensor();
        handle.data(storage.data);
        handle.device().device_type(storage.device.type().code()).device_id(storage.device.index());
        handle.ndim(shape.length);
        handle.dtype().code((byte) dtype.code()).bits((byte) dtype.bits()).lanes((short) 1);
        handle.shape(shapePtr);
        handle.strides(null);
        handle.byte_offset(byteOffset);
        storage.refs.incrementAndGet();
        cleanable = CLEANER.register(this, new Release(storage, handle, shapePtr));
        Scope.register(this);
    }

    // ---- factories ----

    /** An uninitialized tensor. */
    public static Tensor empty(DType dtype, Device device, long... shape) {
        return empty("Tensor.empty", dtype, device, shape);
    }

    private static Tensor empty(String op, DType dtype, Device device, long[] shape) {
        if (dtype == null) throw DeepKernException.invalidArgument(op, "dtype", "expected a dtype, got null");
        if (device == null) throw DeepKernException.invalidArgument(op, "device", "expected a device, got null");
        long[] s = checkShape(op, shape);
        if (numel(s) > MAX_BYTES / dtype.byteSize()) throw DeepKernException.invalidArgument(op, "shape",
                "size of " + Arrays.toString(s) + " in " + dtype.name().toLowerCase() + " overflows 64-bit byte counts");
        return new Tensor(new Storage(op, device, numel(s) * dtype.byteSize()), dtype, s, 0);
    }

    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return full("Tensor.zeros", 0.0, dtype, device, shape);
    }

    /** An f32 tensor of zeros on the default device. */
    public static Tensor zeros(long... shape) {
        return zeros(DType.F32, DeepKern.defaultDevice(), shape);
    }

    /** Every element = value, converted to dtype (integers saturate). */
    public static Tensor full(double value, DType dtype, Device device, long... shape) {
        return full("Tensor.full", value, dtype, device, shape);
    }

    private static Tensor full(String op, double value, DType dtype, Device device, long[] shape) {
        Tensor t = empty(op, dtype, device, shape);
        return written(op, t, dk_fill(t.storage.ctx, t.handle, value));
    }

    /** f32 values on the default device; no shape means 1-D. */
    public static Tensor of(float[] values, long... shape) {
        return of(DeepKern.defaultDevice(), values, shape);
    }

    public static Tensor of(Device device, float[] values, long... shape) {
        Tensor t = empty("Tensor.of", DType.F32, device, hostShape(values == null ? -1 : values.length, shape));
        try (FloatPointer host = new FloatPointer(values)) {
            t.copyFromHost(host);
        }
        return t;
    }

    public static Tensor of(Device device, int[] values, long... shape) {
        Tensor t = empty("Tensor.of", DType.I32, device, hostShape(values == null ? -1 : values.length, shape));
        try (IntPointer host = new IntPointer(values)) {
            t.copyFromHost(host);
        }
        return t;
    }

    public static Tensor of(Device device, long[] values, long... shape) {
        Tensor t = empty("Tensor.of", DType.I64, device, hostShape(values == null ? -1 : values.length, shape));
        try (LongPointer host = new LongPointer(values)) {
            t.copyFromHost(host);
        }
        return t;
    }

    /**
     * Standard normal samples from the Philox4x32-10 stream with key {@code seed}, counters from
     * 0: the same seed gives the same bits on every backend.
     */
    public static Tensor randn(long seed, long... shape) {
        return randn(DeepKern.defaultDevice(), DType.F32, seed, shape);
    }

    public static Tensor randn(Device device, DType dtype, long seed, long... shape) {
        Tensor t = empty("Tensor.randn", dtype, device, shape);
        return written("Tensor.randn", t, dk_randn(t.storage.ctx, t.handle, seed, 0), "out", "dtype");
    }

    // ---- accessors ----

    public long[] shape() {
        return shape.clone();
    }

    /** The extent of one dim; negative dims count from the end, as in torch. */
    public long shape(int dim) {
        if (dim < -shape.length || dim >= shape.length) throw DeepKernException.invalidArgument("Tensor.shape", "dim",
                "expected " + -shape.length + ".." + (shape.length - 1) + " for shape " + Arrays.toString(shape) + ", got " + dim);
        return shape[dim < 0 ? dim + shape.length : dim];
    }

    public int ndim() {
        return shape.length;
    }

    public long numel() {
        return numel;
    }

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return storage.device;
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * The native {@code dk_tensor} describing this tensor, for op implementations; valid until
     * the tensor is closed.
     */
    public dk_tensor nativeHandle() {
        ensureOpen("Tensor.nativeHandle");
        return handle;
    }

    /** The native context of this tensor's device, for op implementations. */
    public dk_context nativeContext() {
        ensureOpen("Tensor.nativeContext");
        return storage.ctx;
    }

    // ---- views and conversions ----

    /** A view with a new shape and the same elements; one extent may be -1 (inferred). */
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
        return new Tensor(storage, dtype, s, handle.byte_offset());
    }

    /** Same as {@link #reshape}: every deepkern tensor is contiguous, so every view is free. */
    public Tensor view(long... newShape) {
        return reshape(newShape);
    }

    /**
     * This tensor with its dims reordered (torch {@code x.permute(dims).contiguous()}): a copy,
     * since deepkern tensors are compact; dim i of the result is dim {@code dims[i]} of this one.
     */
    public Tensor permute(int... dims) {
        ensureOpen("Tensor.permute");
        final String op = "Tensor.permute";
        if (dims == null || dims.length != shape.length) throw DeepKernException.invalidArgument(op, "dims",
                "expected a permutation of the " + shape.length + " dims, got " + Arrays.toString(dims));
        long[] s = new long[dims.length];
        boolean[] seen = new boolean[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0 || dims[i] >= dims.length || seen[dims[i]]) throw DeepKernException.invalidArgument(op,
                    "dims", "expected a permutation of 0.." + (dims.length - 1) + ", got " + Arrays.toString(dims));
            seen[dims[i]] = true;
            s[i] = shape[dims[i]];
        }
        Tensor out = empty(dtype, storage.device, s);
        try (IntPointer d = new IntPointer(Math.max(1, dims.length))) {
            d.put(dims);
            return written(op, out, dk_permute(storage.ctx, handle, d, out.handle));
        }
    }

    /** Elements {@code start .. start + length - 1} along {@code dim} (torch {@code narrow_copy}): a copy. */
    public Tensor narrow(int dim, long start, long length) {
        ensureOpen("Tensor.narrow");
        final String op = "Tensor.narrow";
        if (dim < 0 || dim >= shape.length) throw DeepKernException.invalidArgument(op, "dim",
                "expected 0.." + (shape.length - 1) + " for shape " + Arrays.toString(shape) + ", got " + dim);
        if (length < 0 || length > shape[dim]) throw DeepKernException.invalidArgument(op, "length",
                "expected 0.." + shape[dim] + " along dim " + dim + ", got " + length);
        if (start < 0 || start > shape[dim] - length) throw DeepKernException.invalidArgument(op, "start",
                "expected 0.." + (shape[dim] - length) + " for length " + length + " of " + shape[dim] + ", got " + start);
        long[] s = shape.clone();
        s[dim] = length;
        Tensor out = empty(dtype, storage.device, s);
        return written(op, out, dk_narrow(storage.ctx, handle, dim, start, out.handle));
    }

    /** This tensor on another device (a copy), or a view of it when already there. */
    public Tensor to(Device device) {
        ensureOpen("Tensor.to");
        if (device == null) throw DeepKernException.invalidArgument("Tensor.to", "device", "expected a device, got null");
        if (device.equals(storage.device)) return reshape(shape);
        Tensor out = empty(dtype, device, shape);
        long bytes = numel * dtype.byteSize();
        try (BytePointer host = new BytePointer(Math.max(1, bytes))) {
            copyToHost(host);
            out.copyFromHost(host);
        }
        return out;
    }

    /** This tensor converted to another dtype (round to nearest even), or a view when equal. */
    public Tensor to(DType target) {
        ensureOpen("Tensor.to");
        if (target == null) throw DeepKernException.invalidArgument("Tensor.to", "dtype", "expected a dtype, got null");
        if (target == dtype) return reshape(shape);
        Tensor out = empty(target, storage.device, shape);
        return written("Tensor.to", out, dk_cast(storage.ctx, handle, out.handle));
    }

    public float[] toFloatArray() {
        ensureOpen("Tensor.toFloatArray");
        if (dtype != DType.F32) {
            try (Tensor f = to(DType.F32)) {
                return f.toFloatArray();
            }
        }
        float[] out = new float[arrayLength("Tensor.toFloatArray")];
        try (FloatPointer host = new FloatPointer(Math.max(1, numel))) {
            copyToHost(host);
            host.get(out);
        }
        return out;
    }

    public int[] toIntArray() {
        ensureOpen("Tensor.toIntArray");
        if (dtype != DType.I32) {
            try (Tensor i = to(DType.I32)) {
                return i.toIntArray();
            }
        }
        int[] out = new int[arrayLength("Tensor.toIntArray")];
        try (IntPointer host = new IntPointer(Math.max(1, numel))) {
            copyToHost(host);
            host.get(out);
        }
        return out;
    }

    public long[] toLongArray() {
        ensureOpen("Tensor.toLongArray");
        if (dtype != DType.I64) {
            try (Tensor l = to(DType.I64)) {
                return l.toLongArray();
            }
        }
        long[] out = new long[arrayLength("Tensor.toLongArray")];
        try (LongPointer host = new LongPointer(Math.max(1, numel))) {
            copyToHost(host);
            host.get(out);
        }
        return out;
    }

    /** Releases the device memory (once the last view is closed). Closing twice is harmless. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype.name().toLowerCase() + " " + Arrays.toString(shape) + " on " + storage.device
                + (closed ? ", closed]" : "]");
    }

    // ---- internals ----

    private void ensureOpen(String op) {
        if (closed) throw DeepKernException.invalidArgument(op, "this", "the tensor is closed: " + this);
    }

    private Pointer dataAt() {
        return new BytePointer(storage.data).position(handle.byte_offset());
    }

    private void copyFromHost(Pointer host) {
        check(dk_copy_from_host(storage.ctx, dataAt(), host, numel * dtype.byteSize()));
    }

    private void copyToHost(Pointer host) {
        check(dk_copy_to_host(storage.ctx, host, dataAt(), numel * dtype.byteSize()));
    }

    /** t, once the native call that wrote it succeeded; closed (not leaked) when it failed. */
    private static Tensor written(String op, Tensor t, int status, String... renames) {
        try {
            if (status != DK_SUCCESS) throw Native.error(op, status, renames);
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

    /** The largest tensor in bytes, as the native validation allows (deepkern.h). */
    private static final long MAX_BYTES = 1L << 62;

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
