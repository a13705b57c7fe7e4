package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;

import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.ops.RopeLayout;

/** Rotary position embedding (kernels/rope) and its backward. Not part of the public API. */
public final class Rope {
    private Rope() {}

    /** x (named name) turned by +theta, or by -theta for the backward. */
    public static Tensor apply(Call c, String name, Tensor x, RopeLayout layout, double base, long offset,
                               boolean backward) {
        Tensor in = c.tensor(name, x);
        c.required("layout", layout, "HALF_SPLIT or INTERLEAVED");
        if (!((float) base > 0) || Float.isInfinite((float) base))
            throw c.invalid("base", "expected a finite number > 0 (as an f32), got " + base);
        if (offset < 0) throw c.invalid("positionOffset", "expected >= 0, got " + offset);
        int code = layout == RopeLayout.HALF_SPLIT ? DK_ROPE_HALF_SPLIT : DK_ROPE_INTERLEAVED;
        Tensor y = fresh(c.output(in.dtype(), in.shape()), out -> c.check(backward
                ? dk_rope_backward(c.context(), c.in(name, x), code, (float) base, offset, c.in("out", out))
                : dk_rope_forward(c.context(), c.in(name, x), code, (float) base, offset, c.in("out", out))));
        return backward ? y : Derivatives.rope(c, x, layout, base, offset, y);
    }
}
