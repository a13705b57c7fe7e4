package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;

import org.deepkern.Tensor;
import org.deepkern.bindings.dk_step_coefs;
import org.deepkern.internal.Call;
import org.deepkern.ops.StepCoefs;

/** The fused sampler step and the Gaussian-mixture denoiser (kernels/diffusion). Not part of the public API. */
public final class Diffusion {
    private Diffusion() {}

    public static Tensor step(Call c, StepCoefs coefs, Tensor x, Tensor model, Tensor uncond, Tensor extra1,
                              Tensor extra2, Tensor out, Tensor out2) {
        c.required("coefs", coefs, "step coefficients");
        c.tensor("x", x);
        try (dk_step_coefs n = new dk_step_coefs().guidance(coefs.guidance()).x0_x(coefs.x0X()).x0_m(coefs.x0M())
                .clip(coefs.clip()).eps_x(coefs.epsX()).eps_m(coefs.epsM()).eps_x0(coefs.epsX0()).out_x(coefs.outX())
                .out_x0(coefs.outX0()).out_eps(coefs.outEps()).out_e1(coefs.outE1()).out_e2(coefs.outE2())
                .noise(coefs.noise()).o2_x(coefs.o2X()).o2_x0(coefs.o2X0()).o2_eps(coefs.o2Eps()).seed(coefs.seed())
                .offset(coefs.offset())) {
            c.check(dk_diffusion_step(c.context(), n, c.in("x", x), c.in("model", model), c.optional("uncond", uncond),
                    c.optional("extra1", extra1), c.optional("extra2", extra2), c.in("out", out),
                    c.optional("out2", out2)));
        }
        return out;
    }

    public static Tensor gmmPosteriorMean(Call c, Tensor x, Tensor means, Tensor logWeights, double dataStd, double a,
                                          double b) {
        Tensor in = c.tensor("x", x);
        return fresh(c.output(in.dtype(), in.shape()), out -> c.check(dk_gmm_posterior_mean(c.context(), c.in("x", x),
                c.in("means", means), c.in("logWeights", logWeights), (float) dataStd, (float) a, (float) b,
                c.in("out", out))));
    }
}
