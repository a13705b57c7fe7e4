package org.deepkern.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Native.check;

import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_tensor;

/**
 * The functional ops, named after {@code torch.nn.functional}. Each runs on the device of its
 * first tensor argument; every tensor argument must be on that device. Forms taking {@code out}
 * write into it (it may be the input itself for element-wise ops) and return it.
 */
public final class F {
    private F() {}

    /** GELU, exact form: x * Phi(x). */
    public static Tensor gelu(Tensor x) {
        return gelu(x, GeluApproximation.NONE);
    }

    public static Tensor gelu(Tensor x, GeluApproximation approximate) {
        Tensor out = Tensor.empty(arg("F.gelu", "x", x).dtype(), x.device(), x.shape());
        try {
            return gelu(x, approximate, out);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    public static Tensor gelu(Tensor x, GeluApproximation approximate, Tensor out) {
        dk_tensor xh = handle("F.gelu", "x", x);
        dk_tensor oh = handle("F.gelu", "out", out);
        if (approximate == null) throw DeepKernException.invalidArgument("F.gelu", "approximate", "expected NONE or TANH, got null");
        check(dk_gelu(x.nativeContext(), xh, oh, approximate.code()));
        return out;
    }

    // ---- argument checks shared by every op ----

    private static Tensor arg(String op, String name, Tensor t) {
        if (t == null) throw DeepKernException.invalidArgument(op, name, "expected a tensor, got null");
        if (t.isClosed()) throw DeepKernException.invalidArgument(op, name, "tensor is closed");
        return t;
    }

    private static dk_tensor handle(String op, String name, Tensor t) {
        return arg(op, name, t).nativeHandle();
    }
}
