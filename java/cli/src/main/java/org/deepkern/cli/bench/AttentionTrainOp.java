package org.deepkern.cli.bench;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;

/**
 * Scaled dot-product attention as a training step runs it: the forward (with its logsumexp) then
 * the backward, F.scaledDotProductAttention and F.scaledDotProductAttentionBackward, on q, k, v
 * and gradOut [B, H, L, D] (the case shape), scale 1 / sqrt(D), causal top-left as torch's
 * is_causal; outputs dq, dk, dv. The PyTorch peer runs sdpa and its autograd backward the same
 * way. FLOP as FlashAttention's benchmark counts forward plus backward: 4 + 10 = 14 B H L^2 D
 * (the backward recomputes s and dp and forms dv, dk, dq), halved when causal.
 * Checked at sampled elements of each gradient of the first (batch, head) against a double
 * reference from every row's logsumexp and delta = rowsum(dO * O) there (a full double forward of
 * that head: at L = 16K the host's share of the check).
 */
public record AttentionTrainOp(boolean causal) implements BenchOp {
    static final int SAMPLES = 128;

    @Override
    public String name() {
        return causal ? "attention_causal_fwd_bwd" : "attention_fwd_bwd";
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        return List.of(shape, shape, shape, shape);
    }

    @Override
    public List<long[]> outputShapes(long[] shape) {
        return List.of(shape, shape, shape);
    }

    @Override
    public double flops(long[] s) {
        return 14.0 * s[0] * s[1] * s[2] * s[2] * s[3] / (causal ? 2 : 1);
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        AttentionParams p = AttentionParams.defaults().withCausal(causal ? CausalMask.TOP_LEFT : CausalMask.NONE);
        AttentionGrads g;
        try (AttentionResult r = F.scaledDotProductAttention(in[0], in[1], in[2], p)) {
            g = F.scaledDotProductAttentionBackward(in[0], in[1], in[2], r, in[3], p);
        }
        Tensor[] grads = {g.gradQ(), g.gradK(), g.gradV()};
        for (int j = 0; j < 3; j++) {
            out[j].close();
            out[j] = grads[j];
        }
    }

    @Override
    public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
        int l = Math.toIntExact(s[2]), d = Math.toIntExact(s[3]);
        Reference ref = new Reference(in, l, d, causal);
        String[] names = {"dq", "dk", "dv"};
        for (int which = 0; which < 3; which++) {
            int w = which;
            String why = Accuracy.judgeSampled(Arrays.copyOf(out[w], l * d), SAMPLES, e -> ref.gradient(w, e), outputDtype);
            if (why != null) return names[w] + ": " + why;
        }
        return null;
    }

    /**
     * The double gradients of the first head [L][D] of a case, from the logsumexp and delta of its
     * every query row (computed once, rows in parallel). With p_ij = exp(scale q_i k_j - lse_i) and
     * ds_ij = p_ij (dO_i v_j - delta_i): dq_i = scale sum_j ds_ij k_j, dk_j = scale sum_i ds_ij q_i,
     * dv_j = sum_i p_ij dO_i.
     */
    private static final class Reference {
        private final float[] q, k, v, dout;
        private final int l, d;
        private final boolean causal;
        private final double scale;
        private final double[] lse, delta;

        Reference(float[][] in, int l, int d, boolean causal) {
            this.q = in[0];
            this.k = in[1];
            this.v = in[2];
            this.dout = in[3];
            this.l = l;
            this.d = d;
            this.causal = causal;
            this.scale = 1 / Math.sqrt(d);
            this.lse = new double[l];
            this.delta = new double[l];
            IntStream.range(0, l).parallel().forEach(this::row);
        }

        private double dot(float[] a, int ai, float[] b, int bi) {
            double acc = 0;
            for (int t = 0; t < d; t++) acc += (double) a[ai + t] * b[bi + t];
            return acc;
        }

        private boolean sees(int i, int j) {
            return !causal || j <= i;
        }

        private void row(int i) {  // lse[i], delta[i]
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            double[] sc = new double[l], o = new double[d];
            for (int j = 0; j < l && sees(i, j); j++) max = Math.max(max, sc[j] = scale * dot(q, i * d, k, j * d));
            for (int j = 0; j < l && sees(i, j); j++) {
                double e = Math.exp(sc[j] - max);
                sum += e;
                for (int t = 0; t < d; t++) o[t] += e * v[j * d + t];
            }
            lse[i] = max + Math.log(sum);
            double acc = 0;
            for (int t = 0; t < d; t++) acc += dout[i * d + t] * o[t] / sum;
            delta[i] = acc;
        }

        /** Element e = row * D + col of gradient which (0 dq, 1 dk, 2 dv). */
        double gradient(int which, int e) {
            int row = e / d, col = e % d;
            double acc = 0;
            for (int other = 0; other < l; other++) {
                int i = which == 0 ? row : other, j = which == 0 ? other : row;  // query i, key j
                if (!sees(i, j)) continue;
                double p = Math.exp(scale * dot(q, i * d, k, j * d) - lse[i]);
                if (which == 2) {
                    acc += p * dout[i * d + col];
                    continue;
                }
                double ds = p * (dot(dout, i * d, v, j * d) - delta[i]);
                acc += scale * ds * (which == 0 ? k[j * d + col] : q[i * d + col]);
            }
            return acc;
        }
    }
}
