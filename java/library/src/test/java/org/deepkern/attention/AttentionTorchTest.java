package org.deepkern.attention;

import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import static org.deepkern.attention.AttentionChecks.problem;
import static org.deepkern.attention.AttentionChecks.withBias;
import static org.deepkern.attention.AttentionChecks.withKeyLengths;
import static org.deepkern.attention.AttentionChecks.withScale;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.attention.AttentionReference.Problem;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PyTorch as the oracle: torch.nn.functional.scaled_dot_product_attention (CPU, through the JavaCPP
 * presets) with enable_gqa, its own is_causal for the top-left mask, and an additive attn_mask for
 * the bias, padding and bottom-right cases (no fully masked rows: torch gives NaN there, deepkern 0).
 * Values and autograd gradients, f32 and bf16, against deepkern on cpu and emu. torch's answers are
 * first checked against AttentionReference on the same inputs ({@link Oracle}: a wrong one skips the
 * case, loudly); deepkern is asserted against that reference either way.
 */
class AttentionTorchTest {
    /** Problems whose mask torch can express: TOP_LEFT alone through is_causal, everything else as attn_mask. */
    static List<Problem> problems() {
        return List.of(
                problem(2, 8, 2, 33, 33, 64, CausalMask.TOP_LEFT),
                problem(1, 4, 1, 9, 12, 256, CausalMask.TOP_LEFT),
                problem(1, 2, 2, 17, 130, 128, CausalMask.NONE),
                problem(1, 3, 1, 20, 20, 96, CausalMask.NONE),
                withScale(withBias(withKeyLengths(problem(1, 8, 1, 17, 40, 32, CausalMask.BOTTOM_RIGHT), 30),
                        new long[] {1, 8, 17, 40}, 31, 0), 0.2),
                withBias(problem(2, 4, 4, 7, 19, 64, CausalMask.NONE), new long[] {2, 1, 1, 19}, 32, 0),
                // head dims without a kernel of their own: zero-padded to the next (40 -> 64, 200 -> 256)
                problem(1, 2, 1, 11, 13, 40, CausalMask.TOP_LEFT),
                problem(1, 2, 2, 9, 9, 200, CausalMask.NONE));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        long seed = 500;
        for (Device d : TestDevices.host().toList())
            for (Problem p : problems())
                for (DType t : new DType[] {DType.F32, DType.BF16}) out.add(Arguments.of(d, t, p, seed++));
        return out.stream();
    }

    /** The full additive mask [B, Hq, Lq, Lk]: the bias plus -inf where deepkern's mask disallows a key. */
    private static float[] additiveMask(Problem p) {
        float[] m = new float[p.b() * p.hq() * p.lq() * p.lk()];
        int at = 0;
        for (int b = 0; b < p.b(); b++)
            for (int h = 0; h < p.hq(); h++)
                for (int i = 0; i < p.lq(); i++)
                    for (int j = 0; j < p.lk(); j++, at++)
                        m[at] = p.allowed(b, i, j) ? (float) p.bias(b, h, i, j) : Float.NEGATIVE_INFINITY;
        return m;
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void matchesTorch(Device device, DType dtype, Problem p, long seed) {
        String what = p + " " + dtype + " on " + device + " vs torch";
        try (Scope s = Scope.open()) {
            // the bias in q's dtype, so torch (which wants the mask in q's dtype) sees the same values
            AttentionChecks.Inputs in = AttentionChecks.inputs(device, dtype, p, seed, false, true);
            Problem rp = in.p();
            boolean torchCausal = rp.causal() == CausalMask.TOP_LEFT && rp.bias() == null && rp.keyLengths() == null;
            float[] mask = torchCausal || (rp.bias() == null && rp.keyLengths() == null && rp.causal() == CausalMask.NONE)
                    ? null : additiveMask(rp);
            Torch.Attention t = Torch.attention(in.qs(), in.q().shape(), in.ks(), in.vs(), in.k().shape(), mask, torchCausal,
                    rp.scale(), in.gs(), dtype);
            AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
            AttentionGrads g = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), r, in.gradOut(), in.params());
            AttentionReference.Forward ef = AttentionReference.forward(rp, in.qs(), in.ks(), in.vs());
            AttentionReference.Grads eg = AttentionReference.backward(rp, in.qs(), in.ks(), in.vs(), in.gs());
            // torch rounds its own intermediates in bf16: twice our tolerance against a double reference
            double tol = 2 * AttentionChecks.tol(dtype);
            Oracle torch = Oracle.torch();
            compare(torch, ef.out(), t.out(), r.out().toFloatArray(), tol, what + " out");
            compare(torch, ef.lse(), t.logsumexp(), r.logsumexp().toFloatArray(), 1e-4, what + " logsumexp");
            compare(torch, eg.q(), t.gradQ(), g.gradQ().toFloatArray(), 2 * tol, what + " gradQ");
            compare(torch, eg.k(), t.gradK(), g.gradK().toFloatArray(), 2 * tol, what + " gradK");
            compare(torch, eg.v(), t.gradV(), g.gradV().toFloatArray(), 2 * tol, what + " gradV");
            torch.judge();
        }
    }

    /**
     * One output, to a tolerance relative to its largest magnitude: torch vetted against the double
     * reference (at twice it), deepkern asserted against the reference, and deepkern's comparison
     * with torch queued for the oracle's judgement.
     */
    private static void compare(Oracle oracle, double[] exact, float[] torch, float[] got, double tol, String what) {
        double[] ref = new double[torch.length];
        double max = 0;
        for (int i = 0; i < ref.length; i++) {
            ref[i] = torch[i];
            if (Double.isFinite(exact[i])) max = Math.max(max, Math.abs(exact[i]));
        }
        double atol = tol * Math.max(max, 1e-2);
        oracle.vet("torch " + what, exact, torch, 2 * tol, 2 * atol);
        Close.assertClose(exact, got, tol, atol, what.replace(" vs torch", "") + " vs the double reference");
        oracle.compare(() -> Close.assertClose(ref, got, tol, atol, what));
    }
}
