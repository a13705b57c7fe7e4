package org.deepkern.autograd;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.deepkern.ops.InterpolateParams;
import org.deepkern.ops.InterpolationMode;
import org.deepkern.ops.Pool2dParams;
import org.deepkern.ops.Reduction;
import org.deepkern.ops.RopeLayout;
import org.deepkern.testing.GradCheck;
import org.deepkern.testing.GradCheck.Fn;
import org.deepkern.testing.GradCheck.Ref;
import org.deepkern.testing.Reference;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every recorded op's gradient, through a tape, against central finite differences of a double
 * reference (Refs), on awkward shapes, on every host backend.
 */
class AutogradOpsTest {
    private record Case(String name, long[][] shapes, Fn f, Ref ref, double tol) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final double EXACT = 2e-4, PRODUCT = 3e-3;

    private static long[] s(long... e) {
        return e;
    }

    private static long[][] shapes(long[]... s) {
        return s;
    }

    private static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        // ---- Tensor's arithmetic, with broadcasting ----
        long[] a = s(3, 1, 5), b = s(4, 1);
        c.add(new Case("add broadcast", shapes(a, b), x -> x[0].add(x[1]), r -> Refs.binary(r[0], a, r[1], b, Double::sum), EXACT));
        c.add(new Case("add alpha", shapes(a, s(5)), x -> x[0].add(x[1], -2.5),
                r -> Refs.binary(r[0], a, r[1], s(5), (p, q) -> p - 2.5 * q), EXACT));
        c.add(new Case("sub broadcast", shapes(b, a), x -> x[0].sub(x[1]), r -> Refs.binary(r[0], b, r[1], a, (p, q) -> p - q), EXACT));
        c.add(new Case("mul broadcast", shapes(a, b), x -> x[0].mul(x[1]), r -> Refs.binary(r[0], a, r[1], b, (p, q) -> p * q), EXACT));
        c.add(new Case("div broadcast", shapes(a, s(1, 5)), x -> {
            try (Tensor d = x[1].mul(x[1])) {  // a denominator away from 0
                try (Tensor d1 = d.add(1)) {
                    return x[0].div(d1);
                }
            }
        }, r -> Refs.binary(r[0], a, r[1], s(1, 5), (p, q) -> p / (q * q + 1)), EXACT));
        c.add(new Case("scalars", shapes(s(7)), x -> {
            try (Tensor p = x[0].mul(3); Tensor q = p.sub(1); Tensor t = q.rsub(2); Tensor u = t.div(4)) {
                return u.neg();
            }
        }, r -> Refs.map(r[0], v -> -((2 - (3 * v - 1)) / 4)), EXACT));
        c.add(new Case("fan-in (x * x + x)", shapes(s(2, 3)), x -> {
            try (Tensor sq = x[0].mul(x[0])) {
                return sq.add(x[0]);
            }
        }, r -> Refs.map(r[0], v -> v * v + v), EXACT));
        long[] r3 = s(2, 3, 4);
        c.add(new Case("sum all", shapes(r3), x -> x[0].sum(), r -> Refs.sum(r[0], r3, new boolean[] {true, true, true}, 1), EXACT));
        c.add(new Case("sum dims keepdim", shapes(r3), x -> x[0].sum(new int[] {0, -1}, true),
                r -> Refs.sum(r[0], r3, new boolean[] {true, false, true}, 1), EXACT));
        c.add(new Case("mean dim", shapes(r3), x -> x[0].mean(1),
                r -> Refs.sum(r[0], r3, new boolean[] {false, true, false}, 1.0 / 3), EXACT));
        // ---- views and copies ----
        c.add(new Case("permute then contiguous", shapes(r3), x -> {
            try (Tensor p = x[0].permute(2, 0, 1)) {
                return p.contiguous();
            }
        }, r -> Refs.permute(r[0], r3, new int[] {2, 0, 1}), EXACT));
        c.add(new Case("transpose then reshape", shapes(r3), x -> {
            try (Tensor t = x[0].transpose(0, 2)) {
                return t.reshape(4, 6);
            }
        }, r -> Refs.permute(r[0], r3, new int[] {2, 1, 0}), EXACT));
        c.add(new Case("view, unsqueeze, squeeze, clone", shapes(r3), x -> {
            try (Tensor v = x[0].view(6, 4); Tensor u = v.unsqueeze(1); Tensor q = u.squeeze(1)) {
                return q.clone();
            }
        }, r -> r[0].clone(), EXACT));
        c.add(new Case("narrow", shapes(s(5, 3)), x -> {
            try (Tensor n = x[0].narrow(0, 1, 3)) {
                return n.mul(n);
            }
        }, r -> {
            double[] o = new double[9];
            for (int i = 0; i < 9; i++) o[i] = r[0][3 + i] * r[0][3 + i];
            return o;
        }, EXACT));
        c.add(new Case("expand", shapes(s(3, 1)), x -> {
            try (Tensor e = x[0].expand(2, 3, 4)) {
                return e.contiguous();
            }
        }, r -> {
            double[] o = new double[24];
            for (int i = 0; i < 24; i++) o[i] = r[0][(i / 4) % 3];
            return o;
        }, EXACT));
        c.add(new Case("chunk and cat", shapes(s(2, 6)), x -> {
            List<Tensor> parts = x[0].chunk(3, 1);
            try (Tensor second = parts.get(1).mul(2)) {
                Tensor out = Tensor.cat(List.of(parts.get(2), second, parts.get(0)), 1);
                parts.forEach(Tensor::close);
                return out;
            }
        }, r -> {
            double[] o = new double[12];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 6; j++) {
                    int src = j < 2 ? 4 + j : j < 4 ? j : j - 4;
                    o[i * 6 + j] = r[0][i * 6 + src] * (j >= 2 && j < 4 ? 2 : 1);
                }
            return o;
        }, EXACT));
        c.add(new Case("stack", shapes(s(3), s(3)), x -> Tensor.stack(List.of(x[0], x[1]), 1), r -> {
            double[] o = new double[6];
            for (int i = 0; i < 3; i++) {
                o[2 * i] = r[0][i];
                o[2 * i + 1] = r[1][i];
            }
            return o;
        }, EXACT));
        // ---- activations and gates ----
        c.add(new Case("gelu", shapes(s(3, 5)), x -> F.gelu(x[0]), r -> Refs.map(r[0], Reference::gelu), EXACT));
        c.add(new Case("gelu tanh", shapes(s(9)), x -> F.gelu(x[0], GeluApproximation.TANH),
                r -> Refs.map(r[0], Reference::geluTanh), EXACT));
        c.add(new Case("silu + bias", shapes(s(2, 3, 4), s(4)), x -> F.activation(Act.silu(), x[0], x[1]),
                r -> Refs.binary(r[0], s(2, 3, 4), r[1], s(4), (p, q) -> Refs.silu(p + q)), EXACT));
        c.add(new Case("tanh", shapes(s(11)), x -> F.tanh(x[0]), r -> Refs.map(r[0], Math::tanh), EXACT));
        c.add(new Case("sigmoid", shapes(s(11)), x -> F.sigmoid(x[0]), r -> Refs.map(r[0], Refs::sigmoid), EXACT));
        c.add(new Case("relu", shapes(s(13)), x -> F.relu(x[0]), r -> Refs.map(r[0], v -> Math.max(v, 0)), EXACT));
        c.add(new Case("swiglu(gate, up)", shapes(s(3, 4), s(3, 4)), x -> F.swiglu(x[0], x[1]),
                r -> Refs.binary(r[0], s(3, 4), r[1], s(3, 4), (g, u) -> u * Refs.silu(g)), EXACT));
        c.add(new Case("swiglu split", shapes(s(2, 6)), x -> F.swiglu(x[0]), r -> {
            double[] o = new double[6];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++) o[i * 3 + j] = r[0][i * 6 + j] * Refs.silu(r[0][i * 6 + 3 + j]);
            return o;
        }, EXACT));
        // ---- rows: softmax, norms ----
        c.add(new Case("softmax", shapes(s(3, 7)), x -> F.softmax(x[0]), r -> Refs.softmax(r[0], 7, false), EXACT));
        c.add(new Case("logSoftmax", shapes(s(2, 5)), x -> F.logSoftmax(x[0]), r -> Refs.softmax(r[0], 5, true), EXACT));
        c.add(new Case("softmax over dim 0", shapes(s(4, 3)), x -> F.softmax(x[0], 0),
                r -> Refs.permute(Refs.softmax(Refs.permute(r[0], s(4, 3), new int[] {1, 0}), 4, false), s(3, 4), new int[] {1, 0}),
                EXACT));
        c.add(new Case("layerNorm", shapes(s(3, 8), s(8), s(8)), x -> F.layerNorm(x[0], x[1], x[2], 1e-5),
                r -> Refs.norm(r[0], r[1], r[2], 8, 1e-5, false), 1e-3));
        c.add(new Case("layerNorm over two dims", shapes(s(2, 3, 4), s(3, 4), s(3, 4)),
                x -> F.layerNorm(x[0], new long[] {3, 4}, x[1], x[2], 1e-5), r -> Refs.norm(r[0], r[1], r[2], 12, 1e-5, false), 1e-3));
        c.add(new Case("rmsNorm", shapes(s(5, 6), s(6)), x -> F.rmsNorm(x[0], x[1], 1e-6),
                r -> Refs.norm(r[0], r[1], null, 6, 1e-6, true), 1e-3));
        // ---- products ----
        c.add(new Case("matmul", shapes(s(3, 5), s(5, 4)), x -> F.matmul(x[0], x[1]),
                r -> Refs.matmul(r[0], r[1], 3, 5, 4, false, false), PRODUCT));
        c.add(new Case("matmul transposed", shapes(s(5, 3), s(4, 5)), x -> F.matmul(x[0], x[1], true, true),
                r -> Refs.matmul(r[0], r[1], 3, 5, 4, true, true), PRODUCT));
        c.add(new Case("linear", shapes(s(6, 5), s(3, 5), s(3)), x -> F.linear(x[0], x[1], x[2]),
                r -> Refs.linear(r[0], r[1], r[2], 6, 5, 3, null, null), PRODUCT));
        c.add(new Case("linear, gelu and residual", shapes(s(2, 3, 5), s(4, 5), s(4), s(2, 3, 4)),
                x -> F.linear(x[0], x[1], x[2], Act.gelu(), x[3]), r -> Refs.linear(r[0], r[1], r[2], 6, 5, 4, Reference::gelu, r[3]),
                PRODUCT));
        Conv2dParams conv = Conv2dParams.defaults().withStride(2).withPadding(1);
        c.add(new Case("conv2d", shapes(s(2, 3, 5, 6), s(4, 3, 3, 3), s(4)), x -> F.conv2d(x[0], x[1], x[2], conv),
                r -> Refs.conv2d(r[0], r[1], r[2], 2, 3, 5, 6, 4, 3, 3, 2, 1, null, null), PRODUCT));
        c.add(new Case("conv2d, silu and residual", shapes(s(1, 2, 4, 4), s(3, 2, 3, 3), s(3), s(1, 3, 4, 4)),
                x -> F.conv2d(x[0], x[1], x[2], x[3], Conv2dParams.defaults().withPadding(1).withActivation(Act.silu())),
                r -> Refs.conv2d(r[0], r[1], r[2], 1, 2, 4, 4, 3, 3, 3, 1, 1, Refs::silu, r[3]), PRODUCT));
        Conv2dParams up = Conv2dParams.defaults().withStride(2).withPadding(1);
        c.add(new Case("convTranspose2d", shapes(s(1, 3, 3, 4), s(3, 2, 3, 3), s(2)), x -> F.convTranspose2d(x[0], x[1], x[2], up),
                r -> Refs.convTranspose2d(r[0], r[1], r[2], 1, 3, 3, 4, 2, 3, 3, 2, 1), PRODUCT));
        Conv2dParams upNhwc = up.withLayout(Conv2dParams.Layout.NHWC);
        c.add(new Case("convTranspose2d NHWC", shapes(s(1, 3, 4, 3), s(3, 3, 3, 2), s(2)),
                x -> F.convTranspose2d(x[0], x[1], x[2], upNhwc), r -> Refs.permute(Refs.convTranspose2d(
                        Refs.permute(r[0], s(1, 3, 4, 3), new int[] {0, 3, 1, 2}), Refs.permute(r[1], s(3, 3, 3, 2), new int[] {0, 3, 1, 2}),
                        r[2], 1, 3, 3, 4, 2, 3, 3, 2, 1), s(1, 2, 5, 7), new int[] {0, 2, 3, 1}), PRODUCT));
        // ---- attention and positions ----
        c.add(new Case("attention causal", shapes(s(1, 2, 5, 8), s(1, 2, 5, 8), s(1, 2, 5, 8)),
                x -> F.scaledDotProductAttention(x[0], x[1], x[2], AttentionParams.defaults().withCausal(CausalMask.TOP_LEFT)).out(),
                r -> Refs.attention(r[0], r[1], r[2], 2, 5, 8, true), PRODUCT));
        c.add(new Case("attention", shapes(s(2, 1, 3, 4), s(2, 1, 3, 4), s(2, 1, 3, 4)),
                x -> F.scaledDotProductAttention(x[0], x[1], x[2]), r -> Refs.attention(r[0], r[1], r[2], 2, 3, 4, false), PRODUCT));
        c.add(new Case("rotaryEmbedding", shapes(s(1, 2, 3, 8)), x -> F.rotaryEmbedding(x[0], RopeLayout.HALF_SPLIT, 10000, 0),
                r -> Refs.rope(r[0], 2, 3, 8, 10000), EXACT));
        // ---- images ----
        c.add(new Case("maxPool2d", shapes(s(1, 2, 5, 5)), x -> F.maxPool2d(x[0], Pool2dParams.of(3).withStride(2).withPadding(1)),
                r -> Refs.pool(r[0], 2, 5, 5, 3, 2, 1, true), EXACT));
        c.add(new Case("avgPool2d", shapes(s(2, 1, 4, 6)), x -> F.avgPool2d(x[0], Pool2dParams.of(2)),
                r -> Refs.pool(r[0], 2, 4, 6, 2, 2, 0, false), EXACT));
        c.add(new Case("adaptiveAvgPool2d", shapes(s(1, 2, 5, 7)), x -> F.adaptiveAvgPool2d(x[0], 3, 2), r -> {
            double[] o = new double[2 * 3 * 2];
            for (int ch = 0; ch < 2; ch++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 2; j++) {
                        int h0 = i * 5 / 3, h1 = ((i + 1) * 5 + 2) / 3, w0 = j * 7 / 2, w1 = ((j + 1) * 7 + 1) / 2;
                        double sum = 0;
                        for (int y = h0; y < h1; y++) for (int z = w0; z < w1; z++) sum += r[0][(ch * 5 + y) * 7 + z];
                        o[(ch * 3 + i) * 2 + j] = sum / ((h1 - h0) * (w1 - w0));
                    }
            return o;
        }, EXACT));
        c.add(new Case("interpolate bilinear", shapes(s(1, 2, 3, 4)),
                x -> F.interpolate(x[0], new long[] {5, 7}, InterpolateParams.of(InterpolationMode.BILINEAR)),
                r -> Refs.bilinear(r[0], 2, 3, 4, 5, 7), EXACT));
        // ---- losses ----
        c.add(new Case("mseLoss mean (input and target)", shapes(s(3, 4), s(3, 4)), x -> F.mseLoss(x[0], x[1], Reduction.MEAN),
                r -> new double[] {mean(Refs.binary(r[0], s(3, 4), r[1], s(3, 4), (p, q) -> (p - q) * (p - q)))}, EXACT));
        c.add(new Case("l1Loss none", shapes(s(7), s(7)), x -> F.l1Loss(x[0], x[1], Reduction.NONE),
                r -> Refs.binary(r[0], s(7), r[1], s(7), (p, q) -> Math.abs(p - q)), EXACT));
        c.add(new Case("smoothL1Loss sum", shapes(s(2, 5), s(2, 5)), x -> F.smoothL1Loss(x[0], x[1], Reduction.SUM, 0.5),
                r -> new double[] {sum(Refs.binary(r[0], s(2, 5), r[1], s(2, 5), (p, q) -> {
                    double d = Math.abs(p - q);
                    return d < 0.5 ? 0.5 * d * d / 0.5 : d - 0.25;
                }))}, EXACT));
        c.add(new Case("binaryCrossEntropyWithLogits", shapes(s(4, 3)), x -> {
            try (Tensor t = Tensor.of(new float[] {1, 0, 0.3f, 0, 1, 1, 0.5f, 0, 0, 1, 0.9f, 0}, new long[] {4, 3}, x[0].device())) {
                return F.binaryCrossEntropyWithLogits(x[0], t, Reduction.MEAN, null);
            }
        }, r -> {
            double[] t = {1, 0, 0.3f, 0, 1, 1, 0.5f, 0, 0, 1, 0.9f, 0}, l = new double[12];
            for (int i = 0; i < 12; i++) l[i] = Math.max(r[0][i], 0) - r[0][i] * t[i] + Math.log1p(Math.exp(-Math.abs(r[0][i])));
            return new double[] {mean(l)};
        }, EXACT));
        c.add(new Case("crossEntropy (ignore index, label smoothing)", shapes(s(4, 5)), x -> {
            try (Tensor t = Tensor.of(new long[] {2, -100, 0, 4}, new long[] {4}, x[0].device())) {
                return F.crossEntropy(x[0], t, Reduction.MEAN, -100, 0.1);
            }
        }, r -> {
            int[] t = {2, -100, 0, 4};
            double[] lp = Refs.softmax(r[0], 5, true);
            double total = 0;
            int kept = 0;
            for (int i = 0; i < 4; i++) {
                if (t[i] == -100) continue;
                double smooth = 0;
                for (int j = 0; j < 5; j++) smooth -= lp[i * 5 + j] / 5;
                total += 0.9 * -lp[i * 5 + t[i]] + 0.1 * smooth;
                kept++;
            }
            return new double[] {total / kept};
        }, EXACT));
        c.add(new Case("centerNetFocalLoss", shapes(s(1, 2, 2, 3)), x -> {
            float[] h = {1, 0.2f, 0, 0.7f, 1, 0.5f, 0, 0, 0.9f, 0.1f, 0.3f, 0};
            try (Tensor heat = Tensor.of(h, new long[] {1, 2, 2, 3}, x[0].device())) {
                return F.centerNetFocalLoss(x[0], heat, 2, 4);
            }
        }, r -> {
            double[] h = {1, 0.2f, 0, 0.7f, 1, 0.5f, 0, 0, 0.9f, 0.1f, 0.3f, 0};
            double total = 0;
            int pos = 0;
            for (int i = 0; i < 12; i++) {
                double p = Refs.sigmoid(r[0][i]);
                if (h[i] == 1) {
                    total -= Math.pow(1 - p, 2) * Math.log(p);
                    pos++;
                } else {
                    total -= Math.pow(1 - h[i], 4) * Math.pow(p, 2) * Math.log(1 - p);
                }
            }
            return new double[] {total / Math.max(1, pos)};
        }, EXACT));
        c.add(new Case("sppf", shapes(s(1, 2, 4, 5)), x -> F.sppf(x[0], 3, Conv2dParams.Layout.NCHW), r -> {
            double[] p1 = Refs.pool(r[0], 2, 4, 5, 3, 1, 1, true), p2 = Refs.pool(p1, 2, 4, 5, 3, 1, 1, true);
            double[] p3 = Refs.pool(p2, 2, 4, 5, 3, 1, 1, true), o = new double[4 * 40];
            double[][] parts = {r[0], p1, p2, p3};
            for (int k = 0; k < 4; k++) System.arraycopy(parts[k], 0, o, k * 40, 40);
            return o;
        }, EXACT));
        return c;
    }

    private static double sum(double[] v) {
        double t = 0;
        for (double x : v) t += x;
        return t;
    }

    private static double mean(double[] v) {
        return sum(v) / v.length;
    }

    static Stream<Arguments> everyCaseOnEveryDevice() {
        List<Case> all = cases();
        return TestDevices.host().flatMap(d -> all.stream().map(k -> Arguments.of(d, k)));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("everyCaseOnEveryDevice")
    void gradientMatchesFiniteDifferencesOfTheReference(Device device, Case k) {
        GradCheck.check(k.name(), device, k.shapes(), k.f(), k.ref(), k.tol(), k.name().hashCode());
    }
}
