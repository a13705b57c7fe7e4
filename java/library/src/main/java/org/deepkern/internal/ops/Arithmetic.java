package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import org.deepkern.Tensor;
import org.deepkern.internal.Call;

/**
 * Element-wise binary arithmetic with broadcasting (kernels/elementwise): the Tensor methods add,
 * sub, mul, div, maximum and minimum, with a tensor or a number. Not part of the public API.
 */
public final class Arithmetic {
    private Arithmetic() {}

    /** The ops, as deepkern.h's dk_binary_op numbers them. */
    public static final int ADD = DK_BINARY_ADD, SUB = DK_BINARY_SUB, MUL = DK_BINARY_MUL, DIV = DK_BINARY_DIV,
            MAXIMUM = DK_BINARY_MAXIMUM, MINIMUM = DK_BINARY_MINIMUM;

    /** a op (alpha b), into a new tensor of the broadcast shape. */
    public static Tensor binary(Call c, int op, Tensor a, Tensor b, double alpha) {
        Tensor ta = c.tensor("this", a), tb = c.tensor("other", b);
        long[] shape = c.shape((s, nd) -> dk_binary_output_shape(c.context(), handle(ta), handle(tb), s, nd), RENAMES);
        return Derivatives.binary(c.op(), op, a, b, alpha,
                fresh(c.output(ta.dtype(), shape), out -> binaryInto(c, op, a, b, alpha, out)));
    }

    /** a op (alpha b) into a itself (torch's add_ and friends): other must broadcast to a's shape. */
    public static Tensor inPlace(Call c, int op, Tensor a, Tensor b, double alpha) {
        Derivatives.inPlace(c, a, b);
        return binaryInto(c, op, a, b, alpha, a);
    }

    private static Tensor binaryInto(Call c, int op, Tensor a, Tensor b, double alpha, Tensor out) {
        c.tensor("this", a);
        c.check(dk_binary(c.context(), op, c.in("this", a), c.in("other", b), alpha, c.in("out", out)), RENAMES);
        return out;
    }

    /** a op scalar (scalar op a when scalarFirst), into a new tensor like a. */
    public static Tensor scalar(Call c, int op, Tensor a, double scalar, boolean scalarFirst) {
        Tensor ta = c.tensor("this", a);
        return Derivatives.scalar(c.op(), op, a, scalar, scalarFirst,
                fresh(c.output(ta.dtype(), ta.shape()), out -> scalarInto(c, op, a, scalar, scalarFirst, out)));
    }

    /** a op scalar into a itself. */
    public static Tensor scalarInPlace(Call c, int op, Tensor a, double scalar) {
        Derivatives.inPlace(c, a, null);
        return scalarInto(c, op, a, scalar, false, a);
    }

    private static Tensor scalarInto(Call c, int op, Tensor a, double scalar, boolean scalarFirst, Tensor out) {
        c.tensor("this", a);
        c.check(dk_binary_scalar(c.context(), op, c.in("this", a), scalar, scalarFirst ? 1 : 0, c.in("out", out)),
                "a", "this", "out", "this");
        return out;
    }

    /** The C API's operand names as the Tensor methods call them: this.add(other). */
    private static final String[] RENAMES = {"a", "this", "b", "other", "out", "this"};
}
