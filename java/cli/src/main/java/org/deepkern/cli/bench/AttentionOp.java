package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.F;

/**
 * Scaled dot-product attention forward, F.scaledDotProductAttention(q, k, v, isCausal), on q, k
 * and v [B, H, L, D] (the case shape), scale 1 / sqrt(D); causal: query i sees keys j <= i. FLOP
 * as FlashAttention's benchmark counts them, 4 B H L^2 D (q k^T and p v, 2 per multiply-add),
 * halved when causal. F returns a fresh output, which takes out[0]'s place (the tensor it
 * displaces is closed): its allocation is part of the timed call, as for the PyTorch peer.
 * Checked at sampled outputs against a double softmax(q k^T / sqrt(D)) v.
 */
public record AttentionOp(boolean causal) implements BenchOp {
    static final int SAMPLES = 256;

    @Override
    public String name() {
        return causal ? "attention_causal" : "attention";
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        return List.of(shape, shape, shape);
    }

    @Override
    public double flops(long[] s) {
        return 4.0 * s[0] * s[1] * s[2] * s[2] * s[3] / (causal ? 2 : 1);
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        Tensor displaced = out[0];
        out[0] = F.scaledDotProductAttention(in[0], in[1], in[2], causal);
        displaced.close();
    }

    @Override
    public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
        int l = Math.toIntExact(s[2]), d = Math.toIntExact(s[3]);
        double scale = 1 / Math.sqrt(d);
        float[] q = in[0], k = in[1], v = in[2];
        return Accuracy.judgeSampled(out[0], SAMPLES, o -> {
            int row = o / d, col = o % d, head = row / l, i = row % l;  // row = (b * H + h) * L + i
            int keys = causal ? i + 1 : l, base = head * l;
            double[] p = new double[keys];
            double max = Double.NEGATIVE_INFINITY, sum = 0, acc = 0;
            for (int j = 0; j < keys; j++) {
                double dot = 0;
                for (int t = 0; t < d; t++) dot += (double) q[row * d + t] * k[(base + j) * d + t];
                p[j] = dot * scale;
                max = Math.max(max, p[j]);
            }
            for (int j = 0; j < keys; j++) {
                p[j] = Math.exp(p[j] - max);
                sum += p[j];
                acc += p[j] * v[(base + j) * d + col];
            }
            return acc / sum;
        }, outputDtype);
    }
}
