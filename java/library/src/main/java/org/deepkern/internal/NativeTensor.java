package org.deepkern.internal;

import static org.deepkern.bindings.global.deepkern.*;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.bindings.dk_context;
import org.deepkern.bindings.dk_tensor;

/**
 * A {@link org.deepkern.Tensor}'s native side: its device memory (shared with its views, freed
 * with the last of them) and the {@code dk_tensor} that describes it to the C API, plus the tensor
 * ops Tensor offers. Every failure is reported in the words of the public method named by op.
 * Not part of the public API.
 */
public final class NativeTensor {
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
            if (refs.decrementAndGet() == 0) Native.check("Tensor.close", dk_free(ctx, data));
        }
    }

    /** What the Cleaner (or close) releases; holds no reference to the owning Tensor. */
    private record Release(Storage storage, dk_tensor handle, LongPointer shape, LongPointer strides) implements Runnable {
        @Override
        public void run() {
            handle.close();
            shape.close();
            if (strides != null) strides.close();
            storage.release();
        }
    }

    private final Storage storage;
    private final dk_tensor handle;
    private final Release release;
    private Cleaner.Cleanable cleanable;

    /** strides null: row-major. */
    private NativeTensor(Storage storage, DType dtype, long[] shape, long[] strides, long byteOffset) {
        this.storage = storage;
        LongPointer extents = new LongPointer(Math.max(1, shape.length));
        extents.put(shape);
        LongPointer steps = strides == null ? null : new LongPointer(Math.max(1, strides.length)).put(strides);
        handle = new dk_tensor();
        handle.data(storage.data);
        handle.device().device_type(storage.device.type().code()).device_id(storage.device.index());
        handle.ndim(shape.length);
        handle.dtype().code((byte) dtype.code()).bits((byte) dtype.bits()).lanes((short) 1);
        handle.shape(extents);
        handle.strides(steps);
        handle.byte_offset(byteOffset);
        storage.refs.incrementAndGet();
        release = new Release(storage, handle, extents, steps);
    }

    /** bytes of fresh device memory on device, described as dtype of shape. */
    public static NativeTensor allocate(String op, Device device, DType dtype, long[] shape, long bytes) {
        return new NativeTensor(new Storage(op, device, bytes), dtype, shape, null, 0);
    }

    /**
     * The same memory described another way (a view): shape and element strides (null: row-major)
     * from byteOffset on.
     */
    public NativeTensor view(DType dtype, long[] shape, long[] strides, long byteOffset) {
        return new NativeTensor(storage, dtype, shape, strides, byteOffset);
    }

    /** The byte offset of the first element in the memory. */
    public long byteOffset() {
        return handle.byte_offset();
    }

    /** Frees this description (and the memory with its last view) when owner becomes unreachable. */
    public void cleanWith(Object owner) {
        cleanable = CLEANER.register(owner, release);
    }

    /** Frees it now; the Cleaner then has nothing left to do. */
    public void close() {
        cleanable.clean();
    }

    public dk_tensor handle() {
        return handle;
    }

    public dk_context context() {
        return storage.ctx;
    }

    public Device device() {
        return storage.device;
    }

    public void fill(String op, double value) {
        Native.check(op, dk_fill(storage.ctx, handle, value));
    }

    /** N(0, 1) from Philox with key seed, counters from offset; a non-floating dtype is the 'dtype' argument's fault. */
    public void randn(String op, long seed, long offset) {
        Native.check(op, dk_randn(storage.ctx, handle, seed, offset), "out", "dtype");
    }

    /** Whether this tensor and other are views of the same allocation. */
    public boolean sharesStorageWith(NativeTensor other) {
        return storage == other.storage;
    }

    /** This one's elements converted into out's dtype. */
    public void castInto(String op, NativeTensor out) {
        castInto(op, out, "this", "dest");
    }

    /** The same, naming this tensor and out as the Java call does in errors. */
    public void castInto(String op, NativeTensor out, String name, String outName) {
        Native.check(op, dk_cast(storage.ctx, handle, out.handle), "x", name, "out", outName);
    }

    /** The shape of this tensor permuted by dims, validated natively. */
    public long[] permutedShape(String op, int[] dims) {
        try (IntPointer d = new IntPointer(Math.max(1, dims.length))) {
            d.put(dims);
            return shape(op, (shape, ndim) -> dk_permute_output_shape(storage.ctx, handle, d, dims.length, shape, ndim));
        }
    }

    /** The shape of length elements of this tensor along dim from start, validated natively. */
    public long[] narrowedShape(String op, int dim, long start, long length) {
        return shape(op, (shape, ndim) -> dk_narrow_output_shape(storage.ctx, handle, dim, start, length, shape, ndim));
    }

    private static long[] shape(String op, Call.ShapeQuery q) {
        try (LongPointer shape = new LongPointer(16); IntPointer ndim = new IntPointer(1)) {
            Native.check(op, q.query(shape, ndim));
            long[] out = new long[ndim.get()];
            shape.get(out);
            return out;
        }
    }

    public void copyFromHost(String op, Pointer host, long bytes) {
        Native.check(op, dk_copy_from_host(storage.ctx, dataAt(), host, bytes));
    }

    public void copyToHost(String op, Pointer host, long bytes) {
        Native.check(op, dk_copy_to_host(storage.ctx, host, dataAt(), bytes));
    }

    /** src's elements into this one's, each through its strides (same shape and dtype). */
    public void copyFrom(String op, NativeTensor src) {
        Native.check(op, dk_copy(storage.ctx, src.handle, handle), "x", "src", "out", "this");
    }

    /** bytes of src's memory into this one's, on this device (no conversion). */
    public void copyBytesFrom(String op, NativeTensor src, long bytes) {
        Native.check(op, dk_copy_device(storage.ctx, dataAt(), src.dataAt(), bytes));
    }

    private Pointer dataAt() {
        return new BytePointer(storage.data).position(handle.byte_offset());
    }
}
