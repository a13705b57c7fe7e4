package org.deepkern;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.deepkern.internal.Access;
import org.deepkern.internal.Call;
import org.deepkern.internal.GradSlot;
import org.deepkern.internal.NativeTensor;
import org.deepkern.internal.TensorFormat;
import org.deepkern.internal.ops.Arithmetic;
import org.deepkern.internal.ops.Derivatives;
import org.deepkern.internal.ops.Reductions;

/**
 * An n-dimensional array in device memory (off-heap), with a shape, element strides, a dtype and a
 * device: row-major without gaps when made, a strided view of another tensor's memory when made by
 * {@link #permute}, {@link #transpose}, {@link #narrow}, {@link #expand} and the like. Close it (or
 * the {@link Scope} it was made in) to give the memory back at once; a Cleaner frees what is left
 * unreachable, as a safety net only. Views share memory, which is freed when the last of them is closed.
 *
 * <p>Not thread-safe: do not close a tensor while another thread uses it.
 */
public final class Tensor implements AutoCloseable {
    static {
        Access.tensors(t -> t.memory);
        Access.gradSlots(t -> {
            if (t.gradSlot == null) t.gradSlot = new GradSlot();
            return t.gradSlot;
        });
    }

    /** The largest tensor in bytes, as the native validation allows (deepkern.h). */
    private static final long MAX_BYTES = 1L << 62;

    private final NativeTensor memory;
    private final long[] shape;
    private final long[] strides;  // in elements
    private final boolean contiguous;
    private final DType dtype;
    private final long numel;
    private volatile boolean closed;
    private GradSlot gradSlot;  // made when autograd first touches this tensor

    /** A tensor over memory: row-major when memory has no strides of its own. */
    private Tensor(NativeTensor memory, DType dtype, long[] shape, long[] strides) {
        this.memory = memory;
        this.shape = shape;
        this.dtype = dtype;
        this.numel = numel(shape);
        long[] compact = compactStrides(shape);
        this.strides = strides == null ? compact : strides;
        boolean c = true;
        for (int i = 0; i < shape.length; i++) c &= shape[i] <= 1 || this.strides[i] == compact[i];
        this.contiguous = c;
        memory.cleanWith(this);
        Scope.register(this);
    }

    private Tensor(NativeTensor memory, DType dtype, long[] shape) {
        this(memory, dtype, shape, null);
    }

    /** A view of this tensor's memory: shape and element strides from the element at elementOffset (of this view's first). */
    private Tensor view(String op, long[] newShape, long[] newStrides, long elementOffset) {
        ensureOpen(op);
        boolean compact = Arrays.equals(newStrides, compactStrides(newShape));
        return new Tensor(memory.view(dtype, newShape, compact ? null : newStrides,
                memory.byteOffset() + elementOffset * dtype.byteSize()), dtype, newShape, newStrides);
    }

    // ---- factories: the shape first, then dtype and device (f32 and the default device when left out) ----

    /**
     * A tensor whose elements are not set (torch.empty).
     *
     * @param shape its extents, each at least 0
     * @param dtype its element type
     * @param device where it lives
     * @return the new tensor
     */
    public static Tensor empty(long[] shape, DType dtype, Device device) {
        return empty("Tensor.empty", shape, dtype, device);
    }

    /**
     * @param shape its extents
     * @return an f32 tensor on the default device whose elements are not set
     */
    public static Tensor empty(long... shape) {
        return empty("Tensor.empty", shape, DType.F32, DeepKern.defaultDevice());
    }

    private static Tensor empty(String op, long[] shape, DType dtype, Device device) {
        if (dtype == null) throw DeepKernException.invalidArgument(op, "dtype", "expected a dtype, got null");
        if (device == null) throw DeepKernException.invalidArgument(op, "device", "expected a device, got null");
        long[] s = checkShape(op, shape);
        if (numel(s) > MAX_BYTES / dtype.byteSize()) throw DeepKernException.invalidArgument(op, "shape",
                "size of " + Arrays.toString(s) + " in " + dtype.name().toLowerCase() + " overflows 64-bit byte counts");
        return new Tensor(NativeTensor.allocate(op, device, dtype, s, numel(s) * dtype.byteSize()), dtype, s);
    }

    /**
     * @param shape its extents
     * @param dtype its element type
     * @param device where it lives
     * @return a tensor of zeros
     */
    public static Tensor zeros(long[] shape, DType dtype, Device device) {
        return full("Tensor.zeros", shape, 0.0, dtype, device);
    }

    /**
     * @param shape its extents
     * @return an f32 tensor of zeros on the default device
     */
    public static Tensor zeros(long... shape) {
        return full("Tensor.zeros", shape, 0.0, DType.F32, DeepKern.defaultDevice());
    }

    /**
     * @param shape its extents
     * @param dtype its element type
     * @param device where it lives
     * @return a tensor of ones
     */
    public static Tensor ones(long[] shape, DType dtype, Device device) {
        return full("Tensor.ones", shape, 1.0, dtype, device);
    }

    /**
     * @param shape its extents
     * @return an f32 tensor of ones on the default device
     */
    public static Tensor ones(long... shape) {
        return full("Tensor.ones", shape, 1.0, DType.F32, DeepKern.defaultDevice());
    }

    /**
     * A tensor whose every element is value, converted to dtype (integers saturate), as torch.full.
     *
     * @param shape its extents
     * @param value the value of every element
     * @param dtype its element type
     * @param device where it lives
     * @return the new tensor
     */
    public static Tensor full(long[] shape, double value, DType dtype, Device device) {
        return full("Tensor.full", shape, value, dtype, device);
    }

    private static Tensor full(String op, long[] shape, double value, DType dtype, Device device) {
        Tensor t = empty(op, shape, dtype, device);
        return written(t, () -> t.memory.fill(op, value));
    }

    /**
     * Standard normal samples (torch.randn) from a generator: the same generator state gives the
     * same bits on every backend, and the draw advances it.
     *
     * @param shape its extents
     * @param dtype a floating element type
     * @param device where it lives
     * @param generator the random source
     * @return the new tensor
     */
    public static Tensor randn(long[] shape, DType dtype, Device device, Generator generator) {
        final String op = "Tensor.randn";
        if (generator == null) throw DeepKernException.invalidArgument(op, "generator", "expected a generator, got null");
        if (dtype != null && !dtype.isFloating()) throw DeepKernException.invalidArgument(op, "dtype",
                "expected a floating dtype (f32, f16, bf16), got " + dtype.name().toLowerCase());
        Tensor t = empty(op, shape, dtype, device);
        return written(t, () -> t.fillRandn(op, generator));
    }

    /**
     * @param shape its extents
     * @param dtype a floating element type
     * @param device where it lives
     * @return standard normal samples from the default generator
     */
    public static Tensor randn(long[] shape, DType dtype, Device device) {
        return randn(shape, dtype, device, Generator.defaultGenerator());
    }

    /**
     * @param shape its extents
     * @param generator the random source
     * @return f32 standard normal samples on the default device
     */
    public static Tensor randn(long[] shape, Generator generator) {
        return randn(shape, DType.F32, DeepKern.defaultDevice(), generator);
    }

    /**
     * @param shape its extents
     * @return f32 standard normal samples on the default device, from the default generator
     */
    public static Tensor randn(long... shape) {
        return randn(shape, DType.F32, DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * f32 values on the default device.
     *
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); none means 1-D
     * @return the new tensor
     */
    public static Tensor of(float[] values, long... shape) {
        return of(values, shape, DeepKern.defaultDevice());
    }

    /**
     * f32 values on a device.
     *
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); empty means 1-D
     * @param device where it lives
     * @return the new tensor
     */
    public static Tensor of(float[] values, long[] shape, Device device) {
        Tensor t = empty("Tensor.of", hostShape(values == null ? -1 : values.length, shape), DType.F32, device);
        try (FloatPointer host = new FloatPointer(values)) {
            return written(t, () -> t.copyFromHost("Tensor.of", host));
        }
    }

    /**
     * i32 values on a device.
     *
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); empty means 1-D
     * @param device where it lives
     * @return the new tensor
     */
    public static Tensor of(int[] values, long[] shape, Device device) {
        Tensor t = empty("Tensor.of", hostShape(values == null ? -1 : values.length, shape), DType.I32, device);
        try (IntPointer host = new IntPointer(values)) {
            return written(t, () -> t.copyFromHost("Tensor.of", host));
        }
    }

    /**
     * i64 values on a device.
     *
     * @param values the elements, row-major
     * @param shape the extents (their product must be values.length); empty means 1-D
     * @param device where it lives
     * @return the new tensor
     */
    public static Tensor of(long[] values, long[] shape, Device device) {
        Tensor t = empty("Tensor.of", hostShape(values == null ? -1 : values.length, shape), DType.I64, device);
        try (LongPointer host = new LongPointer(values)) {
            return written(t, () -> t.copyFromHost("Tensor.of", host));
        }
    }

    /**
     * @param like the tensor whose shape, dtype and device to take
     * @return a tensor of zeros like it (torch.zeros_like)
     */
    public static Tensor zerosLike(Tensor like) {
        return full("Tensor.zerosLike", like("Tensor.zerosLike", like).shape, 0.0, like.dtype, like.device());
    }

    /**
     * @param like the tensor whose shape, dtype and device to take
     * @return a tensor of ones like it (torch.ones_like)
     */
    public static Tensor onesLike(Tensor like) {
        return full("Tensor.onesLike", like("Tensor.onesLike", like).shape, 1.0, like.dtype, like.device());
    }

    /**
     * @param like the tensor whose shape, dtype and device to take
     * @return a tensor like it whose elements are not set (torch.empty_like)
     */
    public static Tensor emptyLike(Tensor like) {
        return empty("Tensor.emptyLike", like("Tensor.emptyLike", like).shape, like.dtype, like.device());
    }

    /**
     * @param like the tensor whose shape, dtype and device to take
     * @param value the value of every element
     * @return a tensor like it filled with value (torch.full_like)
     */
    public static Tensor fullLike(Tensor like, double value) {
        return full("Tensor.fullLike", like("Tensor.fullLike", like).shape, value, like.dtype, like.device());
    }

    /**
     * @param like the tensor whose shape, dtype and device to take
     * @param generator the random source
     * @return standard normal samples like it (torch.randn_like)
     */
    public static Tensor randnLike(Tensor like, Generator generator) {
        like("Tensor.randnLike", like);
        return randn(like.shape, like.dtype, like.device(), generator);
    }

    private static Tensor like(String op, Tensor like) {
        if (like == null) throw DeepKernException.invalidArgument(op, "like", "expected a tensor, got null");
        like.ensureOpen(op);
        return like;
    }

    // ---- ranges (torch.arange, torch.linspace): computed on the host, then copied to the device ----

    /**
     * torch.arange(end) with an integral end.
     *
     * @param end the bound, not included
     * @return 0, 1, ..., end - 1 as i64 on the default device (empty for end 0; a negative end is
     *     rejected, as torch does)
     */
    public static Tensor arange(long end) {
        return arange(0, end, 1);
    }

    /**
     * torch.arange(end) with a floating end.
     *
     * @param end the bound, not included
     * @return 0, 1, ... below end as f32 on the default device
     */
    public static Tensor arange(double end) {
        return arange(0.0, end, 1.0);
    }

    /**
     * torch.arange(start, end, step) with integral arguments.
     *
     * @param start the first value
     * @param end the bound, not included
     * @param step the difference of neighbours, not 0
     * @return i64 values on the default device
     */
    public static Tensor arange(long start, long end, long step) {
        return arange(start, end, step, DType.I64, DeepKern.defaultDevice());
    }

    /**
     * torch.arange(start, end, step) with floating arguments.
     *
     * @param start the first value
     * @param end the bound, not included
     * @param step the difference of neighbours, not 0
     * @return f32 values on the default device
     */
    public static Tensor arange(double start, double end, double step) {
        return arange(start, end, step, DType.F32, DeepKern.defaultDevice());
    }

    /**
     * start, start + step, ... short of end: ceil((end - start) / step) values, counted exactly.
     * An integer dtype holds them exactly; a floating one gets start + i step computed in double
     * and rounded to it, as torch's CPU kernel does.
     *
     * @param start the first value
     * @param end the bound, not included; not before start in the step's direction
     * @param step the difference of neighbours, not 0
     * @param dtype the element type
     * @param device where it lives
     * @return the new 1-D tensor
     */
    public static Tensor arange(long start, long end, long step, DType dtype, Device device) {
        final String op = "Tensor.arange";
        if (step == 0) throw DeepKernException.invalidArgument(op, "step", "expected a nonzero step, got 0");
        if (step > 0 ? end < start : end > start) throw wrongWay(op, step > 0, start, end, step);
        // BigInteger: end - start may overflow a long
        BigInteger[] qr = BigInteger.valueOf(end).subtract(BigInteger.valueOf(start)).divideAndRemainder(BigInteger.valueOf(step));
        int n = hostLength(op, "end", qr[0].doubleValue() + (qr[1].signum() != 0 ? 1 : 0));
        if (floating(op, dtype)) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) ((double) start + (double) step * i);
            return fromHost(op, v, dtype, device);
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = start + i * step;
        return fromHost(op, v, dtype, device);
    }

    /**
     * start, start + step, ... short of end: ceil((end - start) / step) values (computed in double,
     * as torch does), each start + i step computed in double and rounded to dtype. An integer dtype
     * needs whole numbers (the long overload's case; torch would truncate each first).
     *
     * @param start the first value, finite
     * @param end the bound, not included, finite; not before start in the step's direction
     * @param step the difference of neighbours, finite and not 0
     * @param dtype the element type
     * @param device where it lives
     * @return the new 1-D tensor
     */
    public static Tensor arange(double start, double end, double step, DType dtype, Device device) {
        final String op = "Tensor.arange";
        if (!floating(op, dtype)) {
            if (whole(start) && whole(end) && whole(step)) return arange((long) start, (long) end, (long) step, dtype, device);
            throw DeepKernException.invalidArgument(op, "dtype", dtype.name().toLowerCase()
                    + " needs whole-number start, end and step, got " + start + ", " + end + ", " + step);
        }
        if (!Double.isFinite(start)) throw DeepKernException.invalidArgument(op, "start", "expected a finite number, got " + start);
        if (!Double.isFinite(end)) throw DeepKernException.invalidArgument(op, "end", "expected a finite number, got " + end);
        if (!(step != 0) || !Double.isFinite(step))
            throw DeepKernException.invalidArgument(op, "step", "expected a finite nonzero number, got " + step);
        if (step > 0 ? end < start : end > start) throw wrongWay(op, step > 0, start, end, step);
        int n = hostLength(op, "end", Math.ceil((end - start) / step));
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (start + step * i);
        return fromHost(op, v, dtype, device);
    }

    /**
     * torch.linspace(start, end, steps): f32 on the default device.
     *
     * @param start the first value, finite as an f32
     * @param end the last value, finite as an f32
     * @param steps how many values, at least 0
     * @return the new 1-D tensor
     */
    public static Tensor linspace(double start, double end, long steps) {
        return linspace(start, end, steps, DType.F32, DeepKern.defaultDevice());
    }

    /**
     * steps values from start to end, evenly spaced, by torch's formula in f32: with step =
     * (end - start) / (steps - 1), value i is start + i step in the first half (i &lt; steps / 2) and
     * end - (steps - 1 - i) step in the second, so both ends are exact; one step gives start. f16
     * and bf16 are rounded once from that f32 (torch computes in the dtype itself).
     *
     * @param start the first value, finite as an f32
     * @param end the last value, finite as an f32
     * @param steps how many values, at least 0
     * @param dtype a floating element type
     * @param device where it lives
     * @return the new 1-D tensor
     */
    public static Tensor linspace(double start, double end, long steps, DType dtype, Device device) {
        final String op = "Tensor.linspace";
        if (!floating(op, dtype)) throw DeepKernException.invalidArgument(op, "dtype",
                "expected a floating dtype (f32, f16, bf16), got " + dtype.name().toLowerCase());
        float s = finiteFloat(op, "start", start), e = finiteFloat(op, "end", end);
        if (steps < 0) throw DeepKernException.invalidArgument(op, "steps", "expected >= 0, got " + steps);
        int n = hostLength(op, "steps", steps);
        float step = (e - s) / (n - 1);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = n == 1 ? s : i < n / 2 ? s + step * i : e - step * (n - 1 - i);
        return fromHost(op, v, dtype, device);
    }

    /** Whether dtype (which must be given) is floating. */
    private static boolean floating(String op, DType dtype) {
        if (dtype == null) throw DeepKernException.invalidArgument(op, "dtype", "expected a dtype, got null");
        return dtype.isFloating();
    }

    private static boolean whole(double v) {
        return Math.abs(v) < 0x1p63 && v == Math.rint(v);
    }

    private static float finiteFloat(String op, String name, double v) {
        if (!Float.isFinite((float) v))
            throw DeepKernException.invalidArgument(op, name, "expected a finite number (as an f32), got " + v);
        return (float) v;
    }

    /** end lies behind start for a step going up (or down). */
    private static DeepKernException wrongWay(String op, boolean up, Object start, Object end, Object step) {
        return DeepKernException.invalidArgument(op, "end", "expected end " + (up ? ">=" : "<=") + " start for step "
                + step + ", got start " + start + " and end " + end);
    }

    /** count values as the length of the host array they are made in. */
    private static int hostLength(String op, String name, double count) {
        if (count > Integer.MAX_VALUE - 8) throw DeepKernException.invalidArgument(op, name, "gives " + count
                + " values, more than the host array they are made in holds (2^31 - 9)");
        return (int) count;
    }

    /** f32 values rounded to a floating dtype on device. */
    private static Tensor fromHost(String op, float[] values, DType dtype, Device device) {
        Tensor t = empty(op, new long[] {values.length}, DType.F32, device);
        try (FloatPointer host = new FloatPointer(values)) {
            written(t, () -> t.copyFromHost(op, host));
        }
        if (dtype == DType.F32) return t;
        try (t) {
            return t.to(dtype);
        }
    }

    /** Integer values as an integer dtype on device. */
    private static Tensor fromHost(String op, long[] values, DType dtype, Device device) {
        if (dtype == DType.I64) {
            Tensor t = empty(op, new long[] {values.length}, dtype, device);
            try (LongPointer host = new LongPointer(values)) {
                return written(t, () -> t.copyFromHost(op, host));
            }
        }
        int[] narrow = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            narrow[i] = (int) values[i];
            if (narrow[i] != values[i]) throw DeepKernException.invalidArgument(op, "dtype",
                    "i32 cannot hold the value " + values[i] + " of the range");
        }
        Tensor t = empty(op, new long[] {values.length}, dtype, device);
        try (IntPointer host = new IntPointer(narrow)) {
            return written(t, () -> t.copyFromHost(op, host));
        }
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

    /** @return a copy of the element strides (row-major for a tensor that is no view) */
    public long[] stride() {
        return strides.clone();
    }

    /**
     * @param dim the dim, -ndim() to ndim() - 1
     * @return its stride in elements
     */
    public long stride(int dim) {
        return strides[dim("Tensor.stride", "dim", dim, shape.length)];
    }

    /** @return whether the elements lie row-major without gaps (a transposed, sliced or expanded view does not) */
    public boolean isContiguous() {
        return contiguous;
    }

    /**
     * This tensor with its elements row-major without gaps: a view of the same memory when it is
     * so already, else a copy (torch's contiguous()).
     *
     * @return the view or copy
     */
    public Tensor contiguous() {
        final String op = "Tensor.contiguous";
        ensureOpen(op);
        if (contiguous) return Derivatives.reshaped(op, this, view(op, shape.clone(), compactStrides(shape), 0));
        Tensor out = empty(op, shape, dtype, device());
        return Derivatives.reshaped(op, this, written(out, () -> out.memory.copyFrom(op, memory)));
    }

    /**
     * A view with a new shape and the same elements (torch's view): the tensor must be contiguous.
     *
     * @param newShape the extents; one may be -1 (inferred)
     * @return the view, sharing this tensor's memory
     */
    public Tensor view(long... newShape) {
        final String op = "Tensor.view";
        ensureOpen(op);
        long[] s = inferShape(op, newShape);
        if (!contiguous) throw DeepKernException.invalidArgument(op, "this", "the tensor is a view with strides "
                + Arrays.toString(strides) + ", not contiguous: use reshape() or contiguous() first");
        return Derivatives.reshaped(op, this, view(op, s, compactStrides(s), 0));
    }

    /**
     * The same elements with a new shape (torch's reshape): a view when the tensor is contiguous,
     * else a contiguous copy.
     *
     * @param newShape the extents; one may be -1 (inferred)
     * @return the view or copy
     */
    public Tensor reshape(long... newShape) {
        final String op = "Tensor.reshape";
        ensureOpen(op);
        long[] s = inferShape(op, newShape);
        if (contiguous) return Derivatives.reshaped(op, this, view(op, s, compactStrides(s), 0));
        try (Tensor c = Derivatives.untaped(this::contiguous)) {
            return Derivatives.reshaped(op, this, c.view(op, s, compactStrides(s), 0));
        }
    }

    /** newShape with its -1 inferred, checked to hold numel elements. */
    private long[] inferShape(String op, long[] newShape) {
        if (newShape == null) throw DeepKernException.invalidArgument(op, "shape", "expected extents, got null");
        long[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1 && infer < 0) infer = i;
            else if (s[i] < 0) throw DeepKernException.invalidArgument(op, "shape",
                    "expected extents >= 0 (one may be -1), got " + Arrays.toString(newShape));
            else known = s[i] == 0 || known <= Long.MAX_VALUE / s[i] ? known * s[i] : -1;  // -1: overflow
        }
        if (known < 0) throw reshapeError(op, newShape);
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) throw reshapeError(op, newShape);
            s[infer] = numel / known;
        }
        if (known * (infer >= 0 ? s[infer] : 1) != numel) throw reshapeError(op, newShape);
        return s;
    }

    /**
     * This tensor with its dims reordered (torch's permute): a view.
     *
     * @param dims dim i of the result is dim {@code dims[i]} of this one (negative: from the end)
     * @return the view
     */
    public Tensor permute(int... dims) {
        final String op = "Tensor.permute";
        ensureOpen(op);
        if (dims == null) throw DeepKernException.invalidArgument(op, "dims",
                "expected a permutation of the " + shape.length + " dims, got null");
        int[] d = dims.clone();  // negative dims count from the end, as torch's
        for (int i = 0; i < d.length; i++) if (d[i] < 0 && d[i] >= -shape.length) d[i] += shape.length;
        long[] s = memory.permutedShape(op, d);
        long[] st = new long[d.length];
        for (int i = 0; i < d.length; i++) st[i] = strides[d[i]];
        return Derivatives.permuted(op, this, d, view(op, s, st, 0));
    }

    /**
     * Two dims swapped (torch's transpose): a view.
     *
     * @param dim0 a dim (negative counts from the end)
     * @param dim1 another
     * @return the view
     */
    public Tensor transpose(int dim0, int dim1) {
        final String op = "Tensor.transpose";
        ensureOpen(op);
        int a = dim(op, "dim0", dim0, shape.length), b = dim(op, "dim1", dim1, shape.length);
        long[] s = shape.clone(), st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return Derivatives.transposed(op, this, a, b, view(op, s, st, 0));
    }

    /**
     * Elements {@code start .. start + length - 1} along a dim (torch's narrow): a view.
     *
     * @param dim the dim (negative: from the end)
     * @param start the first element taken along it (negative: from the end)
     * @param length how many are taken
     * @return the view
     */
    public Tensor narrow(int dim, long start, long length) {
        final String op = "Tensor.narrow";
        ensureOpen(op);
        int d = dim(op, "dim", dim, shape.length);
        long from = start < 0 && start >= -shape[d] ? start + shape[d] : start;  // torch: a negative start counts from the end
        long[] s = memory.narrowedShape(op, d, from, length);
        return Derivatives.narrowed(op, this, d, from, view(op, s, strides.clone(), from * strides[d]));
    }

    /**
     * This tensor repeated along dims of extent 1 and new leading dims without copying (torch's
     * expand): a view whose expanded dims have stride 0. Write into it only through ops that take
     * views as inputs.
     *
     * @param sizes the new extents, at least ndim() of them; -1 keeps a dim's extent
     * @return the view
     */
    public Tensor expand(long... sizes) {
        final String op = "Tensor.expand";
        ensureOpen(op);
        if (sizes == null || sizes.length < shape.length) throw DeepKernException.invalidArgument(op, "sizes",
                "expected at least " + shape.length + " extents for shape " + Arrays.toString(shape) + ", got "
                        + Arrays.toString(sizes));
        int lead = sizes.length - shape.length;
        long[] s = new long[sizes.length], st = new long[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            long own = i < lead ? 1 : shape[i - lead];
            long want = sizes[i] == -1 && i >= lead ? own : sizes[i];
            if (want < 0 || (own != 1 && want != own)) throw DeepKernException.invalidArgument(op, "sizes",
                    "expected " + (own == 1 ? "an extent >= 0" : own + " (or -1)") + " at dim " + i + " for shape "
                            + Arrays.toString(shape) + ", got " + Arrays.toString(sizes));
            s[i] = want;
            st[i] = i < lead || (own == 1 && want != 1) ? 0 : strides[i - lead];
        }
        checkShape(op, s);
        return Derivatives.expanded(op, this, view(op, s, st, 0));
    }

    /**
     * A dim of extent 1 inserted (torch's unsqueeze): a view.
     *
     * @param dim where it goes, -ndim() - 1 to ndim()
     * @return the view
     */
    public Tensor unsqueeze(int dim) {
        final String op = "Tensor.unsqueeze";
        ensureOpen(op);
        int d = dim(op, "dim", dim, shape.length + 1);
        long[] s = new long[shape.length + 1], st = new long[shape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == d) {
                s[i] = 1;
                st[i] = j < shape.length ? strides[j] * shape[j] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j++];
            }
        }
        return Derivatives.reshaped(op, this, view(op, s, st, 0));
    }

    /**
     * A dim of extent 1 removed (torch's squeeze(dim); a dim of another extent stays): a view.
     *
     * @param dim the dim
     * @return the view
     */
    public Tensor squeeze(int dim) {
        final String op = "Tensor.squeeze";
        ensureOpen(op);
        int d = dim(op, "dim", dim, shape.length);
        if (shape[d] != 1) return Derivatives.reshaped(op, this, view(op, shape.clone(), strides.clone(), 0));
        long[] s = new long[shape.length - 1], st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i == d) continue;
            s[j] = shape[i];
            st[j++] = strides[i];
        }
        return Derivatives.reshaped(op, this, view(op, s, st, 0));
    }

    /**
     * Pieces of splitSize along a dim, the last smaller when it does not divide (torch's split): views.
     *
     * @param splitSize the extent of each piece, at least 1
     * @param dim the dim
     * @return the views, in order
     */
    public List<Tensor> split(long splitSize, int dim) {
        final String op = "Tensor.split";
        ensureOpen(op);
        int d = dim(op, "dim", dim, shape.length);
        if (splitSize < 1) throw DeepKernException.invalidArgument(op, "splitSize", "expected >= 1, got " + splitSize);
        List<Tensor> out = new ArrayList<>();
        for (long at = 0; at < shape[d] || (at == 0 && shape[d] == 0); at += splitSize) {
            long len = Math.min(splitSize, shape[d] - at);
            long[] s = shape.clone();
            s[d] = len;
            out.add(Derivatives.narrowed(op, this, d, at, view(op, s, strides.clone(), at * strides[d])));
            if (shape[d] == 0) break;
        }
        return out;
    }

    /**
     * chunks pieces of equal extent along a dim, the last smaller (torch's chunk): views.
     *
     * @param chunks how many pieces at most, at least 1
     * @param dim the dim
     * @return the views, in order
     */
    public List<Tensor> chunk(int chunks, int dim) {
        final String op = "Tensor.chunk";
        ensureOpen(op);
        if (chunks < 1) throw DeepKernException.invalidArgument(op, "chunks", "expected >= 1, got " + chunks);
        long extent = shape[dim(op, "dim", dim, shape.length)];
        return split(Math.max(1, (extent + chunks - 1) / chunks), dim);
    }

    /**
     * Tensors joined along an existing dim (torch.cat): every other extent, the dtype and the device equal.
     *
     * @param tensors the pieces, at least one
     * @param dim the dim
     * @return the new tensor
     */
    public static Tensor cat(List<Tensor> tensors, int dim) {
        return join("Tensor.cat", tensors, dim, false);
    }

    /**
     * Tensors of one shape stacked along a new dim (torch.stack).
     *
     * @param tensors the pieces, at least one
     * @param dim where the new dim goes, -ndim() - 1 to ndim()
     * @return the new tensor
     */
    public static Tensor stack(List<Tensor> tensors, int dim) {
        return join("Tensor.stack", tensors, dim, true);
    }

    private static Tensor join(String op, List<Tensor> tensors, int dim, boolean stack) {
        if (tensors == null || tensors.isEmpty()) throw DeepKernException.invalidArgument(op, "tensors",
                "expected at least one tensor, got " + (tensors == null ? "null" : "none"));
        Call c = new Call(op);
        for (int i = 0; i < tensors.size(); i++) c.tensor("tensors[" + i + "]", tensors.get(i));
        Tensor first = tensors.get(0);
        int nd = first.ndim() + (stack ? 1 : 0);
        int d = dim(op, "dim", dim, nd);
        long[] s = stack ? first.unsqueezedShape(d) : first.shape.clone();
        long total = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            long[] ts = stack ? t.unsqueezedShape(d) : t.shape;
            boolean fits = t.dtype == first.dtype && ts.length == s.length;
            for (int k = 0; fits && k < s.length; k++) fits = k == d && !stack || ts[k] == s[k];
            if (!fits) throw c.invalid("tensors[" + i + "]", "expected " + first.dtype.name().toLowerCase() + " "
                    + (stack ? "of shape " + Arrays.toString(first.shape) : "of shape " + Arrays.toString(s)
                    + " but for dim " + d) + ", got " + t.dtype.name().toLowerCase() + " " + Arrays.toString(t.shape));
            if (ts[d] > Long.MAX_VALUE - total) throw c.invalid("tensors", "the extents along dim " + d + " add up past 2^63");
            total += ts[d];
        }
        s[d] = total;
        Tensor out = c.output(first.dtype, s);
        return Derivatives.joined(op, tensors, d, stack, Derivatives.untaped(() -> written(out, () -> {
            long at = 0;
            for (Tensor t : tensors) {
                long len = stack ? 1 : t.shape[d];
                try (Tensor dst = out.narrow(d, at, len); Tensor src = stack ? t.unsqueeze(d) : t.view(op, t.shape, t.strides, 0)) {
                    dst.memory.copyFrom(op, src.memory);
                }
                at += len;
            }
        })));
    }

    private long[] unsqueezedShape(int d) {
        long[] s = new long[shape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) s[i] = i == d ? 1 : shape[j++];
        return s;
    }

    /**
     * This tensor on another device (a copy), or a view of it when already there.
     *
     * @param device where the result lives
     * @return the copy or view
     */
    public Tensor to(Device device) {
        final String op = "Tensor.to";
        ensureOpen(op);
        if (device == null) throw DeepKernException.invalidArgument(op, "device", "expected a device, got null");
        if (device.equals(device())) return Derivatives.reshaped(op, this, view(op, shape.clone(), strides.clone(), 0));
        if (!contiguous) {
            try (Tensor c = contiguous()) {
                return c.to(device);
            }
        }
        Tensor out = empty(op, shape, dtype, device);
        long bytes = numel * dtype.byteSize();
        try (BytePointer host = new BytePointer(Math.max(1, bytes))) {
            return Derivatives.reshaped(op, this, written(out, () -> {
                copyToHost(op, host);
                out.copyFromHost(op, host);
            }));
        }
    }

    /**
     * This tensor converted to another dtype (round to nearest even), or a view when equal.
     *
     * @param target the element type of the result
     * @return the copy or view
     */
    public Tensor to(DType target) {
        final String op = "Tensor.to";
        ensureOpen(op);
        if (target == null) throw DeepKernException.invalidArgument(op, "dtype", "expected a dtype, got null");
        if (target == dtype) return Derivatives.reshaped(op, this, view(op, shape.clone(), strides.clone(), 0));
        Tensor out = empty(op, shape, target, device());
        return Derivatives.reshaped(op, this, written(out, () -> memory.castInto(op, out.memory)));
    }

    /**
     * Writes src's elements into this tensor (torch's {@code dest.copy_(src)}), converted to this
     * tensor's dtype: same shape and device. Either may be a view, so {@code out.narrow(...).copyFrom(x)}
     * writes a slice.
     *
     * @param src the elements
     * @return this tensor
     */
    public Tensor copyFrom(Tensor src) {
        final String op = "Tensor.copyFrom";
        Call c = new Call(op);
        c.tensor("this", this);
        c.tensor("src", src);
        if (src.dtype == dtype) {
            memory.copyFrom(op, src.memory);
        } else if (isContiguous() && !memory.sharesStorageWith(src.memory)) {
            src.memory.castInto(op, memory, "src", "this");  // converted straight into place: one pass
        } else {
            try (Tensor converted = src.to(dtype)) {
                memory.copyFrom(op, converted.memory);
            }
        }
        return this;
    }

    /**
     * Fills this tensor with standard normal samples from a generator, as {@link #randn(long[], DType,
     * Device, Generator)} makes them (torch's {@code normal_}).
     *
     * @param generator the random source
     * @return this tensor
     */
    public Tensor fillRandn(Generator generator) {
        final String op = "Tensor.fillRandn";
        ensureOpen(op);
        if (generator == null) throw DeepKernException.invalidArgument(op, "generator", "expected a generator, got null");
        // checked before the generator moves on: a failed fill draws nothing
        if (!dtype.isFloating()) throw DeepKernException.invalidArgument(op, "this",
                "expected a floating dtype (f32, f16, bf16), got " + dtype.name().toLowerCase());
        if (!contiguous) throw DeepKernException.invalidArgument(op, "this", "expected a contiguous tensor, got a view "
                + "with strides " + Arrays.toString(strides) + " (fill a new tensor and copy it in with copyFrom)");
        return fillRandn(op, generator);
    }

    private Tensor fillRandn(String op, Generator generator) {
        long[] keyAndOffset = generator.reserve(numel);
        memory.randn(op, keyAndOffset[0], keyAndOffset[1]);
        return this;
    }

    /** @return the elements as f32, row-major (converted when the dtype is another) */
    public float[] toFloatArray() {
        ensureOpen("Tensor.toFloatArray");
        if (dtype != DType.F32 || !contiguous) {
            try (Tensor f = dtype != DType.F32 ? to(DType.F32) : contiguous()) {
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
        if (dtype != DType.I32 || !contiguous) {
            try (Tensor i = dtype != DType.I32 ? to(DType.I32) : contiguous()) {
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
        if (dtype != DType.I64 || !contiguous) {
            try (Tensor l = dtype != DType.I64 ? to(DType.I64) : contiguous()) {
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

    // ---- arithmetic, with torch's broadcasting (shapes aligned at the last dim, extents equal or 1) ----

    /**
     * @param other a tensor of this dtype whose shape broadcasts with this one's
     * @return this + other
     */
    public Tensor add(Tensor other) {
        return Arithmetic.binary(new Call("Tensor.add"), Arithmetic.ADD, this, other, 1.0);
    }

    /**
     * @param other a tensor of this dtype whose shape broadcasts with this one's
     * @param alpha the factor of other
     * @return this + alpha other (torch.add(x, other, alpha=alpha))
     */
    public Tensor add(Tensor other, double alpha) {
        return Arithmetic.binary(new Call("Tensor.add"), Arithmetic.ADD, this, other, alpha);
    }

    /**
     * @param scalar a number (integral for an integer tensor)
     * @return this + scalar
     */
    public Tensor add(double scalar) {
        return Arithmetic.scalar(new Call("Tensor.add"), Arithmetic.ADD, this, scalar, false);
    }

    /**
     * @param other a tensor of this dtype whose shape broadcasts with this one's
     * @return this - other
     */
    public Tensor sub(Tensor other) {
        return Arithmetic.binary(new Call("Tensor.sub"), Arithmetic.SUB, this, other, 1.0);
    }

    /**
     * @param scalar a number
     * @return this - scalar
     */
    public Tensor sub(double scalar) {
        return Arithmetic.scalar(new Call("Tensor.sub"), Arithmetic.SUB, this, scalar, false);
    }

    /**
     * @param scalar a number
     * @return scalar - this (torch.rsub)
     */
    public Tensor rsub(double scalar) {
        return Arithmetic.scalar(new Call("Tensor.rsub"), Arithmetic.SUB, this, scalar, true);
    }

    /**
     * @param other a tensor of this dtype whose shape broadcasts with this one's
     * @return this * other, element-wise
     */
    public Tensor mul(Tensor other) {
        return Arithmetic.binary(new Call("Tensor.mul"), Arithmetic.MUL, this, other, 1.0);
    }

    /**
     * @param scalar a number
     * @return this * scalar
     */
    public Tensor mul(double scalar) {
        return Arithmetic.scalar(new Call("Tensor.mul"), Arithmetic.MUL, this, scalar, false);
    }

    /**
     * True division (a floating dtype).
     *
     * @param other a tensor of this dtype whose shape broadcasts with this one's
     * @return this / other, element-wise
     */
    public Tensor div(Tensor other) {
        return Arithmetic.binary(new Call("Tensor.div"), Arithmetic.DIV, this, other, 1.0);
    }

    /**
     * @param scalar a number
     * @return this / scalar
     */
    public Tensor div(double scalar) {
        return Arithmetic.scalar(new Call("Tensor.div"), Arithmetic.DIV, this, scalar, false);
    }

    /**
     * @param other a tensor of this dtype whose shape broadcasts with this one's
     * @return the element-wise larger of the two (NaN propagates, as torch.maximum)
     */
    public Tensor maximum(Tensor other) {
        return Arithmetic.binary(new Call("Tensor.maximum"), Arithmetic.MAXIMUM, this, other, 1.0);
    }

    /**
     * @param other a tensor of this dtype whose shape broadcasts with this one's
     * @return the element-wise smaller of the two (NaN propagates, as torch.minimum)
     */
    public Tensor minimum(Tensor other) {
        return Arithmetic.binary(new Call("Tensor.minimum"), Arithmetic.MINIMUM, this, other, 1.0);
    }

    /** @return -this */
    public Tensor neg() {
        return Arithmetic.scalar(new Call("Tensor.neg"), Arithmetic.MUL, this, -1.0, false);
    }

    /**
     * In place (torch's add_): this becomes this + alpha other; other must broadcast to this shape.
     *
     * @param other a tensor of this dtype
     * @param alpha the factor of other
     * @return this tensor
     */
    public Tensor add_(Tensor other, double alpha) {
        return Arithmetic.inPlace(new Call("Tensor.add_"), Arithmetic.ADD, this, other, alpha);
    }

    /**
     * In place: this becomes this + other.
     *
     * @param other a tensor of this dtype that broadcasts to this shape
     * @return this tensor
     */
    public Tensor add_(Tensor other) {
        return add_(other, 1.0);
    }

    /**
     * In place: this becomes this * other.
     *
     * @param other a tensor of this dtype that broadcasts to this shape
     * @return this tensor
     */
    public Tensor mul_(Tensor other) {
        return Arithmetic.inPlace(new Call("Tensor.mul_"), Arithmetic.MUL, this, other, 1.0);
    }

    /**
     * In place: this becomes this * scalar.
     *
     * @param scalar a number
     * @return this tensor
     */
    public Tensor mul_(double scalar) {
        return Arithmetic.scalarInPlace(new Call("Tensor.mul_"), Arithmetic.MUL, this, scalar);
    }

    /**
     * In place: this becomes this + scalar.
     *
     * @param scalar a number
     * @return this tensor
     */
    public Tensor add_(double scalar) {
        return Arithmetic.scalarInPlace(new Call("Tensor.add_"), Arithmetic.ADD, this, scalar);
    }

    /**
     * In place (torch's sub_): this becomes this - alpha other.
     *
     * @param other a tensor of this dtype that broadcasts to this shape
     * @param alpha the factor of other
     * @return this tensor
     */
    public Tensor sub_(Tensor other, double alpha) {
        return Arithmetic.inPlace(new Call("Tensor.sub_"), Arithmetic.SUB, this, other, alpha);
    }

    /**
     * @param other a tensor of this dtype that broadcasts to this shape
     * @return this tensor, now this - other
     */
    public Tensor sub_(Tensor other) {
        return sub_(other, 1.0);
    }

    /**
     * @param scalar subtracted from every element
     * @return this tensor, now this - scalar
     */
    public Tensor sub_(double scalar) {
        return Arithmetic.scalarInPlace(new Call("Tensor.sub_"), Arithmetic.SUB, this, scalar);
    }

    /**
     * In place (torch's div_), floating dtypes only.
     *
     * @param other a tensor of this dtype that broadcasts to this shape
     * @return this tensor, now this / other
     */
    public Tensor div_(Tensor other) {
        return Arithmetic.inPlace(new Call("Tensor.div_"), Arithmetic.DIV, this, other, 1.0);
    }

    /**
     * @param scalar every element is divided by it (floating dtypes only)
     * @return this tensor, now this / scalar
     */
    public Tensor div_(double scalar) {
        return Arithmetic.scalarInPlace(new Call("Tensor.div_"), Arithmetic.DIV, this, scalar);
    }

    // ---- reductions (torch's dim arguments: negative dims count from the end) ----

    /** @return the sum of every element, a 0-dim tensor (i64 for an integer tensor) */
    public Tensor sum() {
        return Reductions.reduce(new Call("Tensor.sum"), Reductions.SUM, this, new int[0], false);
    }

    /**
     * torch's {@code x.sum(dim)}: keepdim false.
     *
     * @param dim the dim reduced
     * @return the sums (i64 for an integer tensor)
     */
    public Tensor sum(int dim) {
        return sum(dim, false);
    }

    /**
     * @param dim the dim summed over
     * @param keepdim whether it stays, with extent 1
     * @return the sums (i64 for an integer tensor)
     */
    public Tensor sum(int dim, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.sum"), Reductions.SUM, this, dim, keepdim);
    }

    /**
     * @param dims the dims summed over (none: every dim)
     * @param keepdim whether they stay, with extent 1
     * @return the sums (i64 for an integer tensor)
     */
    public Tensor sum(int[] dims, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.sum"), Reductions.SUM, this, dims, keepdim);
    }

    /** @return the mean of every element, a 0-dim tensor (a floating tensor) */
    public Tensor mean() {
        return Reductions.reduce(new Call("Tensor.mean"), Reductions.MEAN, this, new int[0], false);
    }

    /**
     * torch's {@code x.mean(dim)}: keepdim false.
     *
     * @param dim the dim reduced
     * @return the means
     */
    public Tensor mean(int dim) {
        return mean(dim, false);
    }

    /**
     * @param dim the dim averaged over
     * @param keepdim whether it stays, with extent 1
     * @return the means
     */
    public Tensor mean(int dim, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.mean"), Reductions.MEAN, this, dim, keepdim);
    }

    /**
     * @param dims the dims averaged over (none: every dim)
     * @param keepdim whether they stay, with extent 1
     * @return the means
     */
    public Tensor mean(int[] dims, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.mean"), Reductions.MEAN, this, dims, keepdim);
    }

    /** @return the largest element (NaN if any is), a 0-dim tensor */
    public Tensor max() {
        return Reductions.reduce(new Call("Tensor.max"), Reductions.MAX, this, new int[0], false);
    }

    /**
     * @param dim the dim reduced
     * @param keepdim whether it stays, with extent 1
     * @return the largest elements along dim (torch.max(x, dim).values; NaN propagates)
     */
    public Tensor max(int dim, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.max"), Reductions.MAX, this, dim, keepdim);
    }

    /** @return the smallest element (NaN if any is), a 0-dim tensor */
    public Tensor min() {
        return Reductions.reduce(new Call("Tensor.min"), Reductions.MIN, this, new int[0], false);
    }

    /**
     * @param dim the dim reduced
     * @param keepdim whether it stays, with extent 1
     * @return the smallest elements along dim (NaN propagates)
     */
    public Tensor min(int dim, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.min"), Reductions.MIN, this, dim, keepdim);
    }

    /** @return the i64 index of the largest element in the flattened tensor (the first, on ties; NaN counts as largest) */
    public Tensor argmax() {
        return Reductions.reduce(new Call("Tensor.argmax"), Reductions.ARGMAX, this, new int[0], false);
    }

    /**
     * torch's {@code x.argmax(dim)}: keepdim false.
     *
     * @param dim the dim reduced
     * @return the i64 indices of the largest elements along dim
     */
    public Tensor argmax(int dim) {
        return argmax(dim, false);
    }

    /**
     * @param dim the dim reduced
     * @param keepdim whether it stays, with extent 1
     * @return the i64 indices of the largest elements along dim
     */
    public Tensor argmax(int dim, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.argmax"), Reductions.ARGMAX, this, dim, keepdim);
    }

    /** @return the i64 index of the smallest element in the flattened tensor */
    public Tensor argmin() {
        return Reductions.reduce(new Call("Tensor.argmin"), Reductions.ARGMIN, this, new int[0], false);
    }

    /**
     * torch's {@code x.argmin(dim)}: keepdim false.
     *
     * @param dim the dim reduced
     * @return the i64 indices of the smallest elements along dim
     */
    public Tensor argmin(int dim) {
        return argmin(dim, false);
    }

    /**
     * @param dim the dim reduced
     * @param keepdim whether it stays, with extent 1
     * @return the i64 indices of the smallest elements along dim
     */
    public Tensor argmin(int dim, boolean keepdim) {
        return Reductions.reduce(new Call("Tensor.argmin"), Reductions.ARGMIN, this, dim, keepdim);
    }

    /**
     * The value of a one-element tensor (torch's item()), as a double.
     *
     * @return the element
     */
    public double item() {
        final String op = "Tensor.item";
        ensureOpen(op);
        if (numel != 1) throw DeepKernException.invalidArgument(op, "this",
                "expected one element, got shape " + Arrays.toString(shape));
        if (dtype == DType.I64) return toLongArray()[0];
        if (dtype == DType.I32) return toIntArray()[0];
        return toFloatArray()[0];
    }

    /** @return a copy of this tensor in new, contiguous memory (torch's clone()) */
    public Tensor clone() {
        final String op = "Tensor.clone";
        ensureOpen(op);
        Tensor out = empty(op, shape, dtype, device());
        return Derivatives.reshaped(op, this, written(out, () -> out.memory.copyFrom(op, memory)));
    }

    // ---- gradients: a leaf's side of org.deepkern.autograd ----

    /**
     * Marks this tensor as a leaf whose gradient a tape's backward pass (org.deepkern.autograd)
     * accumulates into {@link #grad()} (torch's {@code requires_grad_}). A module's parameters are
     * marked when it registers them.
     *
     * @param requiresGrad whether the gradient is wanted
     * @return this tensor
     */
    public Tensor requiresGrad(boolean requiresGrad) {
        final String op = "Tensor.requiresGrad";
        ensureOpen(op);
        if (requiresGrad && !dtype.isFloating()) throw DeepKernException.invalidArgument(op, "this",
                "only a floating tensor (f32, f16, bf16) can require a gradient, got " + dtype.name().toLowerCase());
        if (gradSlot != null && gradSlot.node != null) throw DeepKernException.invalidArgument(op, "this",
                "expected a leaf, got a tensor a recording tape made (its gradient flows to its inputs)");
        if (gradSlot == null) {
            if (!requiresGrad) return this;
            gradSlot = new GradSlot();
        }
        gradSlot.requiresGrad = requiresGrad;
        return this;
    }

    /**
     * @return whether a backward pass reaches this tensor: a leaf marked with {@link
     *     #requiresGrad(boolean)}, or the result of an op a tape recorded
     */
    public boolean requiresGrad() {
        return gradSlot != null && (gradSlot.requiresGrad || gradSlot.node != null);
    }

    /**
     * @return the gradient that backward passes accumulated into this leaf (same shape, dtype and
     *     device; owned by this tensor, closed with it or by {@link #clearGrad()}), or null before the first
     */
    public Tensor grad() {
        return gradSlot == null ? null : gradSlot.grad;
    }

    /** Closes and forgets the accumulated gradient (torch's {@code grad = None}); the next backward starts afresh. */
    public void clearGrad() {
        if (gradSlot == null || gradSlot.grad == null) return;
        gradSlot.grad.close();
        gradSlot.grad = null;
    }

    /** Releases the device memory (once the last view is closed), and the gradient. Closing twice is harmless. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Scope.closed(this);
        memory.close();
        clearGrad();
    }

    /**
     * The values as torch prints them ({@code tensor([[1.0000, 2.5000], ...], device='emu',
     * dtype=torch.bfloat16)}: precision 4, past 1000 elements each dim longer than 6 shown by its
     * first and last 3 around "..."). This reads the tensor (on cuda, a copy to the host). A closed
     * tensor gives its dtype, shape and device only.
     *
     * @return the text
     */
    @Override
    public String toString() {
        if (closed) return "Tensor[" + dtype.name().toLowerCase() + " " + Arrays.toString(shape) + " on " + device() + ", closed]";
        return TensorFormat.format(this);
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

    private DeepKernException reshapeError(String op, long[] newShape) {
        return DeepKernException.invalidArgument(op, "shape", "expected " + numel
                + " elements (shape " + Arrays.toString(shape) + "), got shape " + Arrays.toString(newShape));
    }

    /** dim in -n..n-1 as 0..n-1, or the error of argument name of op. */
    private static int dim(String op, String name, int dim, int n) {
        if (dim < -n || dim >= n) throw DeepKernException.invalidArgument(op, name,
                "expected " + -n + ".." + (n - 1) + ", got " + dim);
        return dim < 0 ? dim + n : dim;
    }

    private static long[] compactStrides(long[] shape) {
        long[] s = new long[shape.length];
        long step = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = step;
            step *= Math.max(shape[i], 1);
        }
        return s;
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
