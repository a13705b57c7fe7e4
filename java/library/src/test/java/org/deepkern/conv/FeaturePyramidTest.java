package org.deepkern.conv;

import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.nn.FeaturePyramidNetwork;
import org.deepkern.nn.FeaturePyramidNetwork.ExtraBlock;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.testing.Close;
import org.deepkern.testing.Images;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** nn.FeaturePyramidNetwork against torchvision's FPN written in double from ConvReference. */
class FeaturePyramidTest {
    /** C3, C4, C5 {channels, height, width}: odd sizes, so the top-down nearest is not a plain 2x. */
    static final int[][] LEVELS = {{4, 13, 11}, {6, 7, 6}, {8, 4, 3}};
    static final int N = 2, OUT = 5;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (Layout layout : Layout.values())
                for (ExtraBlock e : ExtraBlock.values()) out.add(Arguments.of(d, layout, e));
        });
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void matchesTorchvisionsFpn(Device device, Layout layout, ExtraBlock extra) {
        boolean nhwc = layout == Layout.NHWC;
        try (Scope scope = Scope.open();
             FeaturePyramidNetwork fpn = new FeaturePyramidNetwork(new long[] {4, 6, 8}, OUT, extra, layout, DType.F32, device,
                     new Generator(5))) {
            Map<String, Tensor> state = fpn.stateDict();
            assertTrue(state.containsKey("inner_blocks.2.0.weight") && state.containsKey("layer_blocks.0.0.bias"),
                    "torchvision's names: " + state.keySet());
            assertEquals(extra == ExtraBlock.P6P7_FROM_C5 || extra == ExtraBlock.P6P7_FROM_P5, state.containsKey("extra_blocks.p6.weight"));
            List<Tensor> features = new ArrayList<>();
            List<double[]> xs = new ArrayList<>();
            for (int[] l : LEVELS) {
                float[] v = normal(N * l[0] * l[1] * l[2], 3 + l[1], 0, 1);
                xs.add(doubles(v));
                features.add(Tensor.of(nhwc ? Images.toNhwc(v, N, l[0], l[1], l[2]) : v,
                        nhwc ? new long[] {N, l[1], l[2], l[0]} : new long[] {N, l[0], l[1], l[2]}, device));
            }
            List<Tensor> got = fpn.forward(features);
            // the reference: torchvision's forward, every conv from ConvReference
            int last = LEVELS.length - 1;
            double[][] p = new double[LEVELS.length][];
            double[] lastInner = conv(state, "inner_blocks." + last + ".0", xs.get(last), LEVELS[last], 1, 1, nhwc);
            p[last] = conv(state, "layer_blocks." + last + ".0", lastInner, new int[] {OUT, LEVELS[last][1], LEVELS[last][2]}, 3, 1, nhwc);
            for (int i = last - 1; i >= 0; i--) {
                double[] lateral = conv(state, "inner_blocks." + i + ".0", xs.get(i), LEVELS[i], 1, 1, nhwc);
                int[] from = {OUT, LEVELS[i + 1][1], LEVELS[i + 1][2]};
                double[] up = nearest(lastInner, from, LEVELS[i][1], LEVELS[i][2]);
                for (int k = 0; k < lateral.length; k++) lateral[k] += up[k];
                lastInner = lateral;
                p[i] = conv(state, "layer_blocks." + i + ".0", lastInner, new int[] {OUT, LEVELS[i][1], LEVELS[i][2]}, 3, 1, nhwc);
            }
            List<double[]> want = new ArrayList<>(List.of(p));
            List<int[]> dims = new ArrayList<>();
            for (int[] l : LEVELS) dims.add(new int[] {OUT, l[1], l[2]});
            int[] c5 = LEVELS[last], p5 = {OUT, c5[1], c5[2]};
            switch (extra) {
                case MAX_POOL -> {
                    int h = (p5[1] - 1) / 2 + 1, w = (p5[2] - 1) / 2 + 1;
                    double[] pool = new double[N * OUT * h * w];
                    for (int pl = 0; pl < N * OUT; pl++)
                        for (int y = 0; y < h; y++)
                            for (int x = 0; x < w; x++) pool[(pl * h + y) * w + x] = p[last][(pl * p5[1] + 2 * y) * p5[2] + 2 * x];
                    want.add(pool);
                    dims.add(new int[] {OUT, h, w});
                }
                case P6P7_FROM_C5, P6P7_FROM_P5 -> {
                    boolean fromC5 = extra == ExtraBlock.P6P7_FROM_C5;
                    int[] in6 = fromC5 ? c5 : p5;
                    double[] six = conv(state, "extra_blocks.p6", fromC5 ? xs.get(last) : p[last], in6, 3, 2, nhwc);
                    int[] d6 = {OUT, (in6[1] - 1) / 2 + 1, (in6[2] - 1) / 2 + 1};
                    double[] relu = six.clone();
                    for (int k = 0; k < relu.length; k++) relu[k] = Math.max(relu[k], 0);
                    want.add(six);
                    want.add(conv(state, "extra_blocks.p7", relu, d6, 3, 2, nhwc));
                    dims.add(d6);
                    dims.add(new int[] {OUT, (d6[1] - 1) / 2 + 1, (d6[2] - 1) / 2 + 1});
                }
                default -> { }
            }
            assertEquals(want.size(), got.size(), "outputs");
            for (int i = 0; i < want.size(); i++) {
                int[] d = dims.get(i);
                float[] g = got.get(i).toFloatArray();
                if (nhwc) g = Images.toNchw(g, N, d[0], d[1], d[2]);
                Close.assertClose(want.get(i), g, 1e-4, 1e-4, "FPN output " + i + " " + layout + " " + extra + " on " + device);
            }
        }
    }

    /** The module's conv `name` (k x k, padding k / 2, stride) on x [N, in[0], in[1], in[2]], NCHW in and out. */
    private static double[] conv(Map<String, Tensor> state, String name, double[] x, int[] in, int k, int stride, boolean nhwc) {
        Tensor wt = state.get(name + ".weight");
        float[] w = wt.toFloatArray();
        if (nhwc) w = Images.toNchw(w, (int) wt.shape(0), (int) wt.shape(3), k, k);  // [K, R, S, C] as [K, C, R, S]
        double[] bias = doubles(state.get(name + ".bias").toFloatArray());
        ConvReference.Geom g = new ConvReference.Geom(N, in[0], in[1], in[2], (int) wt.shape(0), k, k, stride, stride, k / 2, k / 2,
                k / 2, k / 2, 1, 1, 1);
        return ConvReference.forward(g, x, doubles(w), bias);
    }

    /** torch's nearest (F.interpolate(size=...)) of x [N, d[0], d[1], d[2]] to h x w, computed in f32 as torch does. */
    private static double[] nearest(double[] x, int[] d, int h, int w) {
        double[] out = new double[N * d[0] * h * w];
        for (int pl = 0; pl < N * d[0]; pl++)
            for (int y = 0; y < h; y++)
                for (int z = 0; z < w; z++)
                    out[(pl * h + y) * w + z] = x[(pl * d[1] + index(y, d[1], h)) * d[2] + index(z, d[2], w)];
        return out;
    }

    private static int index(int o, int in, int out) {
        if (out == in) return o;
        if (out == 2 * in) return o >> 1;
        return (int) Math.min((long) Math.floor(o * ((float) in / out)), in - 1);
    }

    private static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
