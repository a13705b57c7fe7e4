package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import org.bytedeco.javacpp.IntPointer;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_dtype;
import org.deepkern.internal.Call;

/**
 * Reductions over dims (kernels/reduction): the Tensor methods sum, mean, max, min, argmax and
 * argmin. Not part of the public API.
 */
public final class Reductions {
    private Reductions() {}

    /** The ops, as deepkern.h's dk_reduce_op numbers them. */
    public static final int SUM = DK_REDUCE_SUM, MEAN = DK_REDUCE_MEAN, MAX = DK_REDUCE_MAX, MIN = DK_REDUCE_MIN,
            ARGMAX = DK_REDUCE_ARGMAX, ARGMIN = DK_REDUCE_ARGMIN;

    /** op of x over dims (none: every dim), keeping them as extent 1 when keepdim. */
    public static Tensor reduce(Call c, int op, Tensor x, int[] dims, boolean keepdim) {
        if (dims == null) throw c.invalid("dims", "expected dims, got null");
        return reduce(c, op, x, dims, "dims", keepdim);
    }

    /** op of x over one dim (the Java argument 'dim'). */
    public static Tensor reduce(Call c, int op, Tensor x, int dim, boolean keepdim) {
        return reduce(c, op, x, new int[] {dim}, "dim", keepdim);
    }

    private static Tensor reduce(Call c, int op, Tensor x, int[] dims, String dimsName, boolean keepdim) {
        Tensor t = c.tensor("this", x);
        try (IntPointer d = new IntPointer(Math.max(1, dims.length)); dk_dtype dtype = new dk_dtype()) {
            d.put(dims);
            long[] shape = c.shape((s, nd) -> dk_reduce_output_shape(c.context(), op, handle(t), d, dims.length,
                    keepdim ? 1 : 0, s, nd, dtype), "x", "this", "dims", dimsName);
            DType outType = DType.of(dtype.code(), dtype.bits());
            return Derivatives.reduce(c.op(), op, x, dims, keepdim, fresh(c.output(outType, shape), out -> c.check(
                    dk_reduce(c.context(), op, c.in("this", x), d, dims.length, keepdim ? 1 : 0, c.in("out", out)),
                    "x", "this", "dims", dimsName)));
        }
    }
}
