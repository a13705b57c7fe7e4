package org.deepkern.cli.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.nn.FeaturePyramidNetwork;
import org.deepkern.ops.Conv2dParams.Layout;

/**
 * nn.FeaturePyramidNetwork (torchvision's: 1x1 laterals, nearest top-down upsample + add, 3x3
 * outputs, LastLevelMaxPool) over ResNet-50's C2-C5 of one S x S image (the case's shape {N, S}):
 * C2 [N, 256, S/4, S/4] .. C5 [N, 2048, S/32, S/32], 256 channels out; NCHW. Its weights are
 * inputs too (after the maps: each level's lateral weight and bias, then each level's output
 * weight and bias), scaled by 1 / sqrt(fan_in), so the peer computes with the same ones. Outputs
 * P2 .. P5 and the pool level. Checked on sampled outputs of every level against a double
 * reference that computes the top-down maps only where the samples read them.
 */
public record FpnOp() implements BenchOp {
    static final long[] IN = {256, 512, 1024, 2048};
    static final long OUT = 256;
    static final int LEVELS = IN.length, SAMPLES = 96;

    /** The module of each input set (keyed by its first map), made once: its parameters are the set's weight inputs. */
    private static final Map<Tensor, FeaturePyramidNetwork> MODULES = new IdentityHashMap<>();

    @Override
    public String name() {
        return "fpn";
    }

    static long side(long[] s, int level) {
        return s[1] >> (level + 2);
    }

    @Override
    public List<long[]> inputShapes(long[] s) {
        List<long[]> out = new ArrayList<>();
        for (int l = 0; l < LEVELS; l++) out.add(new long[] {s[0], IN[l], side(s, l), side(s, l)});
        for (int l = 0; l < LEVELS; l++) {
            out.add(new long[] {OUT, IN[l], 1, 1});
            out.add(new long[] {OUT});
        }
        for (int l = 0; l < LEVELS; l++) {
            out.add(new long[] {OUT, OUT, 3, 3});
            out.add(new long[] {OUT});
        }
        return out;
    }

    @Override
    public List<long[]> outputShapes(long[] s) {
        List<long[]> out = new ArrayList<>();
        for (int l = 0; l < LEVELS; l++) out.add(new long[] {s[0], OUT, side(s, l), side(s, l)});
        long last = side(s, LEVELS - 1);
        out.add(new long[] {s[0], OUT, (last + 1) / 2, (last + 1) / 2});
        return out;
    }

    @Override
    public double flops(long[] s) {
        double f = 0;
        for (int l = 0; l < LEVELS; l++) {
            double pixels = (double) s[0] * side(s, l) * side(s, l);
            f += 2 * pixels * OUT * (IN[l] + 9 * OUT);
        }
        return f;
    }

    @Override
    public float[][] fromNormals(long[] s, float[][] z) {
        float[][] out = z.clone();
        for (int j = LEVELS; j < z.length; j++) {
            long[] shape = inputShapes(s).get(j);
            double scale = shape.length == 4 ? 1 / Math.sqrt(shape[1] * shape[2] * shape[3]) : 0.1;
            out[j] = new float[z[j].length];
            for (int i = 0; i < z[j].length; i++) out[j][i] = (float) (scale * z[j][i]);
        }
        return out;
    }

    @Override
    public void run(long[] s, Tensor[] in, Tensor[] out) {
        FeaturePyramidNetwork fpn;
        synchronized (MODULES) {
            fpn = MODULES.computeIfAbsent(in[0], k -> module(in));
        }
        List<Tensor> p = fpn.forward(List.of(in[0], in[1], in[2], in[3]));
        for (int j = 0; j < out.length; j++) {
            out[j].close();
            out[j] = p.get(j);
        }
    }

    /** An FPN whose parameters are the weight inputs (torchvision's names). */
    private static FeaturePyramidNetwork module(Tensor[] in) {
        Device d = in[0].device();
        FeaturePyramidNetwork fpn = new FeaturePyramidNetwork(IN, OUT, FeaturePyramidNetwork.ExtraBlock.MAX_POOL, Layout.NCHW,
                in[0].dtype(), d, new Generator(0));
        Map<String, Tensor> state = new HashMap<>();
        for (int l = 0; l < LEVELS; l++) {
            state.put("inner_blocks." + l + ".0.weight", in[LEVELS + 2 * l]);
            state.put("inner_blocks." + l + ".0.bias", in[LEVELS + 2 * l + 1]);
            state.put("layer_blocks." + l + ".0.weight", in[3 * LEVELS + 2 * l]);
            state.put("layer_blocks." + l + ".0.bias", in[3 * LEVELS + 2 * l + 1]);
        }
        fpn.loadStateDict(state);
        return fpn;
    }

    @Override
    public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
        Reference ref = new Reference(s, in);
        for (int l = 0; l <= LEVELS; l++) {
            int level = l;
            long[] shape = outputShapes(s).get(l);
            String why = Accuracy.judgeSampled(out[l], SAMPLES, e -> {
                int x = (int) (e % shape[3]), y = (int) (e / shape[3] % shape[2]), c = (int) (e / (shape[3] * shape[2]) % OUT);
                int n = (int) (e / (shape[3] * shape[2] * OUT));
                // the pool level: max_pool2d(P5, 1, 2) reads P5 at (2y, 2x)
                return level == LEVELS ? ref.output(n, LEVELS - 1, c, 2 * y, 2 * x) : ref.output(n, level, c, y, x);
            }, outputDtype);
            if (why != null) return (l == LEVELS ? "pool" : "P" + (l + 2)) + ": " + why;
        }
        return null;
    }

    /** The FPN in double, the top-down maps computed (and kept) only where the sampled outputs read them. */
    private static final class Reference {
        final long[] s;
        final float[][] in;
        final Map<Long, double[]> inner = new HashMap<>();

        Reference(long[] s, float[][] in) {
            this.s = s;
            this.in = in;
        }

        /** inner_l at (n, y, x), all OUT channels: lateral_l(C_l) + nearest-up(inner_{l+1}). */
        synchronized double[] inner(int n, int l, int y, int x) {
            long side = side(s, l), key = (n * 8L + l) << 40 | (long) y << 20 | x;
            double[] v = inner.get(key);
            if (v != null) return v;
            v = new double[(int) OUT];
            float[] c = in[l], w = in[LEVELS + 2 * l], b = in[LEVELS + 2 * l + 1];
            long cin = IN[l];
            for (int k = 0; k < OUT; k++) {
                double acc = b[k];
                for (int ci = 0; ci < cin; ci++) acc += (double) w[(int) (k * cin + ci)] * c[(int) (((n * cin + ci) * side + y) * side + x)];
                v[k] = acc;
            }
            if (l + 1 < LEVELS) {  // torchvision: interpolate(size=lateral's, nearest): source floor(o * in / out) = o / 2
                double[] up = inner(n, l + 1, y / 2, x / 2);
                for (int k = 0; k < OUT; k++) v[k] += up[k];
            }
            inner.put(key, v);
            return v;
        }

        /** P_l at (n, c, y, x): the 3x3 output conv (padding 1) of inner_l. */
        double output(int n, int l, int c, int y, int x) {
            long side = side(s, l);
            float[] w = in[3 * LEVELS + 2 * l], b = in[3 * LEVELS + 2 * l + 1];
            double acc = b[c];
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || xx < 0 || yy >= side || xx >= side) continue;
                    double[] v = inner(n, l, yy, xx);
                    for (int k = 0; k < OUT; k++) acc += w[(int) (((c * OUT + k) * 3 + dy + 1) * 3 + dx + 1)] * v[k];
                }
            return acc;
        }
    }
}
