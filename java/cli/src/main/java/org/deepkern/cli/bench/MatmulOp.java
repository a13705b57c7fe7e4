package org.deepkern.cli.bench;

import org.deepkern.ops.F;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;

/**
 * A matrix product on a case shape {M, N, K}: F.matmul's kernel, a [M, K] @ b [K, N]; or (linear)
 * F.linear with its fused epilogue, gelu(x [M, K] @ w[N, K]^T + bias [N]). 2 M N K FLOP (the
 * epilogue's M N GELUs are noise beside it); checked at sampled outputs against a double dot
 * product.
 */
public record MatmulOp(boolean linearGelu) implements BenchOp {
    static final int SAMPLES = 512;

    @Override
    public String name() {
        return linearGelu ? "linear_bias_gelu" : "matmul";
    }

    @Override
    public List<long[]> inputShapes(long[] s) {
        long m = s[0], n = s[1], k = s[2];
        return linearGelu ? List.of(new long[] {m, k}, new long[] {n, k}, new long[] {n})
                : List.of(new long[] {m, k}, new long[] {k, n});
    }

    @Override
    public List<long[]> outputShapes(long[] s) {
        return List.of(new long[] {s[0], s[1]});
    }

    @Override
    public double flops(long[] s) {
        return 2.0 * s[0] * s[1] * s[2];
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        Tensor a = in[0];
        if (linearGelu) F.linear(a, in[1], in[2], Act.gelu(), null, out[0]);
        else F.matmul(a, in[1], false, false, out[0]);
    }

    @Override
    public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
        int n = Math.toIntExact(s[1]), k = Math.toIntExact(s[2]);
        float[] a = in[0], b = in[1];
        return Accuracy.judgeSampled(out[0], SAMPLES, o -> {
            int i = o / n, j = o % n;
            double acc = 0;
            for (int t = 0; t < k; t++)
                acc += (double) a[i * k + t] * (linearGelu ? b[j * k + t] : b[t * n + j]);
            return linearGelu ? HostAct.value(Act.Kind.GELU, acc + in[2][j]) : acc;
        }, outputDtype);
    }
}
