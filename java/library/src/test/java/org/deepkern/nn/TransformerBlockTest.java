package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.testing.Memory;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.RopeLayout;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A TransformerBlock forward (RMSNorm or LayerNorm, grouped-query attention with and without
 * rotary embedding and causal mask, SwiGLU MLP) on every host backend against the same block
 * computed in double precision from the formulas (BlockReference).
 */
class TransformerBlockTest {
    record Config(int batch, int len, int embed, int heads, int kvHeads, int headDim, int hidden, boolean rms,
                  RopeLayout rope, boolean causal, boolean biases) {}

    static Stream<Arguments> cases() {
        Config[] configs = {
            new Config(2, 7, 64, 4, 2, 32, 96, true, RopeLayout.HALF_SPLIT, true, false),
            new Config(1, 17, 48, 2, 2, 32, 40, false, null, false, true),
            new Config(1, 5, 32, 8, 1, 32, 24, true, RopeLayout.INTERLEAVED, true, true),
            new Config(1, 1, 64, 1, 1, 64, 16, false, RopeLayout.HALF_SPLIT, true, false),
        };
        // bf16 on the first two: the same block with every tensor and intermediate in bf16
        return TestDevices.host().flatMap(d -> Stream.concat(Stream.of(configs).map(c -> Arguments.of(d, c, DType.F32)),
                Stream.of(configs).limit(2).map(c -> Arguments.of(d, c, DType.BF16))));
    }

    private static double[] uniform(Random r, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (2 * r.nextDouble() - 1) * scale;
        return v;
    }

    private static double[][] matrix(double[] flat, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) System.arraycopy(flat, i * cols, m[i], 0, cols);
        return m;
    }

    private static float[] floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    /** Values rounded to the dtype (f32 or bf16, nearest even) so the reference sees exactly what the device sees. */
    private static double[] rounded(double[] v, DType dtype) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int bits = Float.floatToIntBits((float) v[i]);
            if (dtype == DType.BF16) bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000;
            r[i] = Float.intBitsToFloat(bits);
        }
        return r;
    }

    private static Tensor param(Device dev, DType dtype, double[] v, long... shape) {
        try (Tensor f = Tensor.of(floats(v), shape, dev)) {
            return f.to(dtype);
        }
    }

    @ParameterizedTest(name = "{0} {2} {1}")
    @MethodSource("cases")
    void forwardMatchesTheBlockFromTheFormulas(Device dev, Config c, DType dtype) {
        Random r = new Random(31L * c.len() + c.heads());
        int qkvRows = (c.heads() + 2 * c.kvHeads()) * c.headDim(), attnOut = c.heads() * c.headDim();
        double[] x = rounded(uniform(r, c.batch() * c.len() * c.embed(), 1.0), dtype);
        double[] wqkv = rounded(uniform(r, qkvRows * c.embed(), 1 / Math.sqrt(c.embed())), dtype);
        double[] bqkv = c.biases() ? rounded(uniform(r, qkvRows, 0.1), dtype) : null;
        double[] wo = rounded(uniform(r, c.embed() * attnOut, 1 / Math.sqrt(attnOut)), dtype);
        double[] bo = c.biases() ? rounded(uniform(r, c.embed(), 0.1), dtype) : null;
        double[] wg = rounded(uniform(r, c.hidden() * c.embed(), 1 / Math.sqrt(c.embed())), dtype);
        double[] wu = rounded(uniform(r, c.hidden() * c.embed(), 1 / Math.sqrt(c.embed())), dtype);
        double[] wd = rounded(uniform(r, c.embed() * c.hidden(), 1 / Math.sqrt(c.hidden())), dtype);
        double[] n1 = rounded(uniform(r, c.embed(), 1.0), dtype), n2 = rounded(uniform(r, c.embed(), 1.0), dtype);
        double[] nb1 = c.rms() ? null : rounded(uniform(r, c.embed(), 0.2), dtype), nb2 = c.rms() ? null : rounded(uniform(r, c.embed(), 0.2), dtype);
        double eps = 1e-5, base = 10000;

        double[][][] xs = new double[c.batch()][c.len()][];
        for (int i = 0; i < c.batch(); i++)
            for (int t = 0; t < c.len(); t++)
                xs[i][t] = java.util.Arrays.copyOfRange(x, (i * c.len() + t) * c.embed(), (i * c.len() + t + 1) * c.embed());
        Boolean interleaved = c.rope() == null ? null : c.rope() == RopeLayout.INTERLEAVED;
        double[][][] h = BlockReference.add(xs, BlockReference.attention(BlockReference.norm(xs, n1, nb1, eps, c.rms()),
                c.heads(), c.kvHeads(), matrix(wqkv, qkvRows, c.embed()), bqkv, matrix(wo, c.embed(), attnOut), bo,
                interleaved, base, c.causal()));
        double[][][] want = BlockReference.add(h, BlockReference.swigluMlp(BlockReference.norm(h, n2, nb2, eps, c.rms()),
                matrix(wg, c.hidden(), c.embed()), matrix(wu, c.hidden(), c.embed()), matrix(wd, c.embed(), c.hidden())));

        try (Scope s = Scope.open()) {
            Tensor bq = bqkv == null ? null : param(dev, dtype, bqkv, qkvRows);
            Tensor bout = bo == null ? null : param(dev, dtype, bo, c.embed());
            MultiHeadAttention attn = new MultiHeadAttention(c.heads(), c.kvHeads(),
                    param(dev, dtype, wqkv, qkvRows, c.embed()), bq, param(dev, dtype, wo, c.embed(), attnOut), bout,
                    c.rope() == null ? null : new MultiHeadAttention.Rope(c.rope(), base), c.causal());
            SwiGluMlp mlp = new SwiGluMlp(new Linear(param(dev, dtype, wg, c.hidden(), c.embed()), null),
                    new Linear(param(dev, dtype, wu, c.hidden(), c.embed()), null),
                    new Linear(param(dev, dtype, wd, c.embed(), c.hidden()), null));
            Module norm1 = c.rms() ? new RMSNorm(param(dev, dtype, n1, c.embed()), eps)
                    : new LayerNorm(param(dev, dtype, n1, c.embed()), param(dev, dtype, nb1, c.embed()), eps);
            Module norm2 = c.rms() ? new RMSNorm(param(dev, dtype, n2, c.embed()), eps)
                    : new LayerNorm(param(dev, dtype, n2, c.embed()), param(dev, dtype, nb2, c.embed()), eps);
            TransformerBlock block = new TransformerBlock(norm1, attn, norm2, mlp);
            Tensor input = param(dev, dtype, x, c.batch(), c.len(), c.embed());
            long before = Memory.settledInUse(dev);
            Tensor out = block.forward(input);
            // every intermediate is released when forward returns: what stays is one output's allocation
            long kept = DeepKern.memoryStats(dev).inUse() - before;
            try (Tensor probe = Tensor.empty(out.shape(), dtype, dev)) {
                assertEquals(DeepKern.memoryStats(dev).inUse() - before - kept, kept, "intermediates left on " + dev);
            }
            assertEquals(dtype, out.dtype());
            double tol = dtype == DType.F32 ? 1e-4 : 5e-2;
            float[] got = out.toFloatArray();
            int at = 0;
            for (int i = 0; i < c.batch(); i++)
                for (int t = 0; t < c.len(); t++)
                    for (int e = 0; e < c.embed(); e++, at++) {
                        final int idx = at;
                        final double w = want[i][t][e];
                        assertTrue(Math.abs(got[idx] - w) <= tol * (1 + Math.abs(w)),
                                () -> "element " + idx + " of " + c + " on " + dev + ": got " + got[idx] + ", want " + w);
                    }
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void badShapesNameTheArgument(Device dev) {
        try (Scope s = Scope.open()) {
            Tensor wqkv = Tensor.zeros(new long[] {4 * 32, 64}, DType.F32, dev), wo = Tensor.zeros(new long[] {64, 64}, DType.F32, dev);
            var e = assertThrows(DeepKernException.class, () -> new MultiHeadAttention(2, 3, wqkv, null, wo, null, null, false));
            assertTrue(e.getMessage().contains("'kvHeads'"), e.getMessage());
            e = assertThrows(DeepKernException.class, () -> new MultiHeadAttention(3, 1, wqkv, null, wo, null, null, false));
            assertTrue(e.getMessage().contains("'qkvWeight'"), e.getMessage());
            Tensor woNarrow = Tensor.zeros(new long[] {64, 48}, DType.F32, dev);
            e = assertThrows(DeepKernException.class, () -> new MultiHeadAttention(2, 1, wqkv, null, woNarrow, null, null, false));
            assertTrue(e.getMessage().contains("'outWeight'"), e.getMessage());
            MultiHeadAttention ok = new MultiHeadAttention(2, 1, Tensor.zeros(new long[] {4 * 32, 64}, DType.F32, dev), null,
                    Tensor.zeros(new long[] {64, 64}, DType.F32, dev), null, null, false);
            e = assertThrows(DeepKernException.class, () -> ok.forward(Tensor.zeros(new long[] {2, 3, 63}, DType.F32, dev)));
            assertTrue(e.getMessage().contains("'input'"), e.getMessage());
        }
    }
}
