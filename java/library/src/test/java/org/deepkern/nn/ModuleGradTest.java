package org.deepkern.nn;

import java.util.SplittableRandom;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.Refs;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.RopeLayout;
import org.deepkern.testing.GradCheck;
import org.deepkern.testing.Reference;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every module's gradients, through a tape: of its input and of every parameter, against central
 * finite differences of the module written from its formulas in double (BlockReference).
 */
class ModuleGradTest {
    private static final double TOL = 3e-3;

    static java.util.stream.Stream<Device> devices() {
        return TestDevices.host();
    }

    private static Tensor leaf(Device d, SplittableRandom r, double scale, long... shape) {
        long n = 1;
        for (long e : shape) n *= e;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (scale * r.nextGaussian());
        return Tensor.of(v, shape, d).requiresGrad(true);
    }

    private static double[][][] cube(double[] v, int b, int l, int e) {
        double[][][] c = new double[b][l][e];
        for (int i = 0; i < b; i++)
            for (int t = 0; t < l; t++) System.arraycopy(v, (i * l + t) * e, c[i][t], 0, e);
        return c;
    }

    private static double[][] matrix(double[] v, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) System.arraycopy(v, i * cols, m[i], 0, cols);
        return m;
    }

    private static double[] flat(double[][][] c) {
        int b = c.length, l = c[0].length, e = c[0][0].length;
        double[] v = new double[b * l * e];
        for (int i = 0; i < b; i++)
            for (int t = 0; t < l; t++) System.arraycopy(c[i][t], 0, v, (i * l + t) * e, e);
        return v;
    }

    @ParameterizedTest
    @MethodSource("devices")
    void linearSequentialAndActivation(Device d) {
        try (Scope s = Scope.open()) {
            SplittableRandom r = new SplittableRandom(1);
            Tensor x = leaf(d, r, 1, 2, 3, 5), w1 = leaf(d, r, 0.5, 6, 5), b1 = leaf(d, r, 0.1, 6), w2 = leaf(d, r, 0.5, 4, 6);
            Sequential net = new Sequential(new Linear(w1, b1), new Activation(Act.gelu()), new Linear(w2, null));
            GradCheck.check("Sequential(Linear, GELU, Linear) on " + d, new Tensor[] {x, w1, b1, w2}, () -> net.forward(x), v -> {
                double[][][] h = BlockReference.linear(cube(v[0], 2, 3, 5), matrix(v[1], 6, 5), v[2]);
                for (double[][] m : h) for (double[] row : m) for (int i = 0; i < row.length; i++) row[i] = Reference.gelu(row[i]);
                return flat(BlockReference.linear(h, matrix(v[3], 4, 6), null));
            }, TOL);
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void norms(Device d) {
        try (Scope s = Scope.open()) {
            SplittableRandom r = new SplittableRandom(2);
            Tensor x = leaf(d, r, 1, 2, 3, 8), w = leaf(d, r, 1, 8), b = leaf(d, r, 0.2, 8);
            LayerNorm ln = new LayerNorm(w, b, 1e-5);
            GradCheck.check("LayerNorm on " + d, new Tensor[] {x, w, b}, () -> ln.forward(x),
                    v -> flat(BlockReference.norm(cube(v[0], 2, 3, 8), v[1], v[2], 1e-5, false)), TOL);
            Tensor w2 = leaf(d, r, 1, 8);
            RMSNorm rms = new RMSNorm(w2, 1e-5);
            GradCheck.check("RMSNorm on " + d, new Tensor[] {x, w2}, () -> rms.forward(x),
                    v -> flat(BlockReference.norm(cube(v[0], 2, 3, 8), v[1], null, 1e-5, true)), TOL);
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void convolutions(Device d) {
        try (Scope s = Scope.open()) {
            SplittableRandom r = new SplittableRandom(3);
            Tensor x = leaf(d, r, 1, 2, 3, 5, 5), w = leaf(d, r, 0.3, 4, 3, 3, 3), b = leaf(d, r, 0.1, 4);
            Conv2d conv = new Conv2d(w, b, Conv2dParams.defaults().withPadding(1).withStride(2));
            GradCheck.check("Conv2d on " + d, new Tensor[] {x, w, b}, () -> conv.forward(x),
                    v -> Refs.conv2d(v[0], v[1], v[2], 2, 3, 5, 5, 4, 3, 3, 2, 1, null, null), TOL);
            Tensor y = leaf(d, r, 1, 1, 4, 3, 3), wt = leaf(d, r, 0.3, 4, 2, 3, 3), bt = leaf(d, r, 0.1, 2);
            ConvTranspose2d up = new ConvTranspose2d(wt, bt, Conv2dParams.defaults().withStride(2).withPadding(1));
            GradCheck.check("ConvTranspose2d on " + d, new Tensor[] {y, wt, bt}, () -> up.forward(y),
                    v -> Refs.convTranspose2d(v[0], v[1], v[2], 1, 4, 3, 3, 2, 3, 3, 2, 1), TOL);
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void featurePyramidNetwork(Device d) {
        try (Scope s = Scope.open()) {
            SplittableRandom r = new SplittableRandom(5);
            Tensor c0 = leaf(d, r, 1, 1, 2, 4, 4), c1 = leaf(d, r, 1, 1, 3, 2, 2);
            FeaturePyramidNetwork fpn = new FeaturePyramidNetwork(new long[] {2, 3}, 2, FeaturePyramidNetwork.ExtraBlock.MAX_POOL,
                    Conv2dParams.Layout.NCHW, org.deepkern.DType.F32, d, new org.deepkern.Generator(6));
            java.util.List<Tensor> params = fpn.parameters();  // inner 0, inner 1 (weight, bias), then layer 0, layer 1
            Tensor[] leaves = new Tensor[2 + params.size()];
            leaves[0] = c0;
            leaves[1] = c1;
            for (int i = 0; i < params.size(); i++) leaves[2 + i] = params.get(i);
            GradCheck.check("FeaturePyramidNetwork on " + d, leaves, () -> {
                java.util.List<Tensor> flat = new java.util.ArrayList<>();
                for (Tensor level : fpn.forward(java.util.List.of(c0, c1))) flat.add(level.reshape(-1));
                return Tensor.cat(flat, 0);
            }, v -> {
                double[] inner1 = Refs.conv2d(v[1], v[4], v[5], 1, 3, 2, 2, 2, 1, 1, 1, 0, null, null);
                double[] r1 = Refs.conv2d(inner1, v[8], v[9], 1, 2, 2, 2, 2, 3, 3, 1, 1, null, null);
                double[] up = new double[2 * 16];
                for (int ch = 0; ch < 2; ch++)
                    for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) up[(ch * 4 + y) * 4 + x] = inner1[(ch * 2 + y / 2) * 2 + x / 2];
                double[] inner0 = Refs.conv2d(v[0], v[2], v[3], 1, 2, 4, 4, 2, 1, 1, 1, 0, null, up);
                double[] r0 = Refs.conv2d(inner0, v[6], v[7], 1, 2, 4, 4, 2, 3, 3, 1, 1, null, null);
                double[] out = new double[32 + 8 + 2];
                System.arraycopy(r0, 0, out, 0, 32);
                System.arraycopy(r1, 0, out, 32, 8);
                out[40] = r1[0];  // max pool of kernel 1, stride 2: the top-left pixel of each channel
                out[41] = r1[4];
                return out;
            }, TOL);
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void transformerBlock(Device d) {
        int b = 2, l = 5, e = 16, heads = 2, kvHeads = 1, hd = 8, hidden = 24, rows = (heads + 2 * kvHeads) * hd;
        try (Scope s = Scope.open()) {
            SplittableRandom r = new SplittableRandom(4);
            Tensor x = leaf(d, r, 1, b, l, e);
            Tensor wqkv = leaf(d, r, 0.25, rows, e), bqkv = leaf(d, r, 0.1, rows);
            Tensor wo = leaf(d, r, 0.3, e, heads * hd), bo = leaf(d, r, 0.1, e);
            Tensor wg = leaf(d, r, 0.25, hidden, e), wu = leaf(d, r, 0.25, hidden, e), wd = leaf(d, r, 0.2, e, hidden);
            Tensor n1 = leaf(d, r, 1, e), n2 = leaf(d, r, 1, e);
            MultiHeadAttention attn = new MultiHeadAttention(heads, kvHeads, wqkv, bqkv, wo, bo,
                    new MultiHeadAttention.Rope(RopeLayout.HALF_SPLIT, 10000), true);
            SwiGluMlp mlp = new SwiGluMlp(new Linear(wg, null), new Linear(wu, null), new Linear(wd, null));
            TransformerBlock block = new TransformerBlock(new RMSNorm(n1, 1e-5), attn, new RMSNorm(n2, 1e-5), mlp);
            Tensor[] leaves = {x, wqkv, bqkv, wo, bo, wg, wu, wd, n1, n2};
            GradCheck.check("TransformerBlock on " + d, leaves, () -> block.forward(x), v -> {
                double[][][] xs = cube(v[0], b, l, e);
                double[][][] h = BlockReference.add(xs, BlockReference.attention(BlockReference.norm(xs, v[8], null, 1e-5, true),
                        heads, kvHeads, matrix(v[1], rows, e), v[2], matrix(v[3], e, heads * hd), v[4], false, 10000, true));
                return flat(BlockReference.add(h, BlockReference.swigluMlp(BlockReference.norm(h, v[9], null, 1e-5, true),
                        matrix(v[5], hidden, e), matrix(v[6], hidden, e), matrix(v[7], e, hidden))));
            }, TOL);
        }
    }
}
