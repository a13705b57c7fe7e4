package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;

import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.ops.CouplingGrads;

/** The fused affine coupling of normalizing flows (kernels/flow). Not part of the public API. */
public final class Flows {
    private Flows() {}

    public static Tensor coupling(Call c, boolean inverse, Tensor in, Tensor h, Tensor logDet) {
        String inName = inverse ? "y" : "x";
        Tensor t = c.tensor(inName, in);
        c.tensor("h", h);
        if (logDet != null) c.tensor("logDet", logDet);
        return fresh(c.output(t.dtype(), t.shape()), out -> {
            int status = inverse
                    ? dk_flow_coupling_inverse(c.context(), c.in("y", in), c.in("h", h), 1, Call.handle(out),
                            c.optional("logDet", logDet))
                    : dk_flow_coupling_forward(c.context(), c.in("x", in), c.in("h", h), 1, Call.handle(out),
                            c.optional("logDet", logDet));
            c.check(status, "logdet", "logDet");
        });
    }

    public static CouplingGrads couplingBackward(Call c, Tensor x, Tensor h, Tensor gradY, Tensor gradLogDet) {
        Tensor xt = c.tensor("x", x);
        Tensor ht = c.tensor("h", h);
        c.tensor("gradY", gradY);
        if (gradLogDet != null) c.tensor("gradLogDet", gradLogDet);
        Tensor gx = c.output(xt.dtype(), xt.shape());
        Tensor gh;
        try {
            gh = c.output(ht.dtype(), ht.shape());
        } catch (RuntimeException e) {
            gx.close();
            throw e;
        }
        try {
            c.check(dk_flow_coupling_backward(c.context(), c.in("x", x), c.in("h", h), c.in("gradY", gradY),
                    c.optional("gradLogDet", gradLogDet), Call.handle(gx), Call.handle(gh)),
                    "grad_y", "gradY", "grad_logdet", "gradLogDet", "grad_x", "gradX", "grad_h", "gradH");
        } catch (RuntimeException e) {
            gx.close();
            gh.close();
            throw e;
        }
        return new CouplingGrads(gx, gh);
    }
}
