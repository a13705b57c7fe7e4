package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;

/**
 * F.conv2d in NHWC on a case shape {N, H, W, C, K, R, S, stride, pad} (square kernel, stride and
 * padding): x [N, H, W, C], w [K, R, S, C/groups], out [N, P, Q, K]; plain, with the bias and
 * ReLU fused (bias [K] a third input), or depthwise (groups = C = K). 2 N K P Q C/groups R S FLOP.
 * Checked at sampled outputs against the double sum over the taps.
 */
public record ConvOp(boolean biasRelu, boolean depthwise) implements BenchOp {
    static final int SAMPLES = 512;

    static long[] shape(long n, long hw, long c, long k, long rs, long stride, long pad) {
        return new long[] {n, hw, hw, c, k, rs, rs, stride, pad};
    }

    @Override
    public String name() {
        return "conv2d" + (depthwise ? "_dw" : "") + (biasRelu ? "_bias_relu" : "");
    }

    long groups(long[] s) {
        return depthwise ? s[3] : 1;
    }

    static long outSize(long size, long[] s) {
        return (size + 2 * s[8] - s[5]) / s[7] + 1;
    }

    @Override
    public List<long[]> inputShapes(long[] s) {
        long[] x = {s[0], s[1], s[2], s[3]}, w = {s[4], s[5], s[6], s[3] / groups(s)};
        return biasRelu ? List.of(x, w, new long[] {s[4]}) : List.of(x, w);
    }

    @Override
    public List<long[]> outputShapes(long[] s) {
        return List.of(new long[] {s[0], outSize(s[1], s), outSize(s[2], s), s[4]});
    }

    @Override
    public double flops(long[] s) {
        return 2.0 * s[0] * s[4] * outSize(s[1], s) * outSize(s[2], s) * (s[3] / groups(s)) * s[5] * s[6];
    }

    Conv2dParams params(long[] s) {
        Conv2dParams p = Conv2dParams.defaults().withLayout(Conv2dParams.Layout.NHWC).withStride((int) s[7])
                .withPadding((int) s[8]).withGroups((int) groups(s));
        return biasRelu ? p.withActivation(Act.relu()) : p;
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        F.conv2d(in[0], in[1], biasRelu ? in[2] : null, null, params(shape), out[0]);
    }

    @Override
    public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
        int h = (int) s[1], w = (int) s[2], c = (int) s[3], k = (int) s[4], r = (int) s[5], sw = (int) s[6];
        int stride = (int) s[7], pad = (int) s[8], p = (int) outSize(h, s), q = (int) outSize(w, s);
        int cg = c / (int) groups(s);
        float[] x = in[0], wt = in[1];
        return Accuracy.judgeSampled(out[0], SAMPLES, o -> {
            int kk = o % k, t = o / k, qq = t % q, pp = t / q % p, n = t / q / p;
            int c0 = depthwise ? kk : 0;
            double acc = 0;
            for (int i = 0; i < r; i++) {
                int hi = pp * stride - pad + i;
                if (hi < 0 || hi >= h) continue;
                for (int j = 0; j < sw; j++) {
                    int wi = qq * stride - pad + j;
                    if (wi < 0 || wi >= w) continue;
                    for (int ch = 0; ch < cg; ch++)
                        acc += (double) x[((n * h + hi) * w + wi) * c + c0 + ch] * wt[((kk * r + i) * sw + j) * cg + ch];
                }
            }
            return biasRelu ? Math.max(0, acc + in[2][kk]) : acc;
        }, outputDtype);
    }
}
