package org.deepkern.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.nn.Activation;
import org.deepkern.nn.Conv2d;
import org.deepkern.nn.Linear;
import org.deepkern.nn.Module;
import org.deepkern.nn.Sequential;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every flow layer and whole flows: inverse(forward(x)) = x within f32 tolerance, and the log-det
 * equals log |det J| of the Jacobian of x -> z computed by central differences (the f32 map,
 * differenced and determined in double) on small dims: D = 4 feature flows and a 1x2x2x2 image
 * flow with a squeeze and a split.
 */
class FlowInvertibilityTest {
    static Stream<Device> devices() {
        return TestDevices.host();
    }

    static Module mlp(long in, long out, Device device, Generator g) {
        return new Sequential(new Linear(in, 16, true, DType.F32, device, g), new Activation(Act.tanh()),
                new Linear(16, out, true, DType.F32, device, g));
    }

    static Module convNet(long in, long out, Device device, Generator g) {
        Conv2dParams p = Conv2dParams.defaults().withPadding(1);
        return new Sequential(new Conv2d(in, 8, 3, 3, p, true, DType.F32, device, g), new Activation(Act.tanh()),
                new Conv2d(8, out, 3, 3, p, true, DType.F32, device, g));
    }

    /** A D = 4 feature flow of every kind of layer. */
    static Flow featureFlow(Device device, long seed) {
        Generator g = new Generator(seed);
        return new Flow(new long[] {4},
                new ActNorm(4, device),
                new InvertibleConv1x1(4, device, g),
                new AffineCoupling(4, mlp(2, 4, device, g), Mask.HALVES, false),
                new AffineCoupling(4, mlp(2, 4, device, g), Mask.HALVES, true),
                new AffineCoupling(4, mlp(2, 4, device, g), Mask.PARITY, false),
                new AffineCoupling(4, mlp(2, 4, device, g), Mask.PARITY, true));
    }

    /** A 2x2x2 image flow: squeeze to 8x1x1, actnorm, 1x1 conv, coupling, split, coupling. */
    static Flow imageFlow(Device device, long seed) {
        Generator g = new Generator(seed);
        return new Flow(new long[] {2, 2, 2},
                new Squeeze(),
                new ActNorm(8, device),
                new InvertibleConv1x1(8, device, g),
                new AffineCoupling(8, convNet(4, 8, device, g), Mask.HALVES, false),
                new Split(),
                new AffineCoupling(4, convNet(2, 4, device, g), Mask.HALVES, true),
                new AffineCoupling(4, convNet(2, 4, device, g), Mask.PARITY, false));
    }

    /** A 2x4x4 image flow: squeeze, 1x1 conv, coupling, split, squeeze, coupling over 16 channels. */
    static Flow multiscaleFlow(Device device, long seed) {
        Generator g = new Generator(seed);
        return new Flow(new long[] {2, 4, 4},
                new Squeeze(), new ActNorm(8, device), new InvertibleConv1x1(8, device, g),
                new AffineCoupling(8, convNet(4, 8, device, g), Mask.HALVES, false), new Split(),
                new Squeeze(), new InvertibleConv1x1(16, device, g),
                new AffineCoupling(16, convNet(8, 16, device, g), Mask.HALVES, true));
    }

    static Tensor input(long[] shape, long seed, Device device) {
        Random r = new Random(seed);
        long numel = 1;
        for (long e : shape) numel *= e;
        float[] v = new float[(int) numel];
        for (int i = 0; i < v.length; i++) v[i] = (float) (0.8 * r.nextGaussian() + 0.3);
        return Tensor.of(v, shape, device);
    }

    static void assertClose(float[] expect, float[] got, double tol, String what) {
        assertEquals(expect.length, got.length, what);
        for (int i = 0; i < expect.length; i++)
            assertTrue(Math.abs(expect[i] - got[i]) <= tol * (1 + Math.abs(expect[i])),
                    what + " at " + i + ": expected " + expect[i] + ", got " + got[i]);
    }

    static void roundTrip(FlowLayer layer, Tensor x, double tol, String what) {
        try (FlowResult r = layer.forwardWithLogDet(x); Tensor back = layer.inverse(r.z())) {
            assertEquals(x.shape(0), r.logDet().shape(0), what);
            assertArrayEquals(x.shape(), back.shape(), what);
            assertClose(x.toFloatArray(), back.toFloatArray(), tol, what);
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void layersInvert(Device device) {
        try (Scope scope = Scope.open()) {
            Generator g = new Generator(5);
            Tensor x = input(new long[] {7, 6}, 1, device);
            Tensor img = input(new long[] {3, 4, 6, 6}, 2, device);
            try (ActNorm a = new ActNorm(6, device)) {
                roundTrip(a, x, 1e-5, "ActNorm [N, D]");
            }
            try (ActNorm a = new ActNorm(4, device)) {
                roundTrip(a, img, 1e-5, "ActNorm image");
            }
            try (InvertibleConv1x1 c = new InvertibleConv1x1(6, device, g)) {
                roundTrip(c, x, 1e-5, "InvertibleConv1x1 [N, D]");
            }
            try (InvertibleConv1x1 c = new InvertibleConv1x1(4, device, g)) {
                roundTrip(c, img, 1e-5, "InvertibleConv1x1 image");
            }
            for (Mask mask : Mask.values())
                for (boolean rev : new boolean[] {false, true}) {
                    try (AffineCoupling c = new AffineCoupling(6, mlp(3, 6, device, g), mask, rev)) {
                        roundTrip(c, x, 1e-5, "AffineCoupling [N, D] " + mask + " " + rev);
                    }
                    try (AffineCoupling c = new AffineCoupling(4, convNet(2, 4, device, g), mask, rev)) {
                        roundTrip(c, img, 1e-5, "AffineCoupling image " + mask + " " + rev);
                    }
                }
            try (AffineCoupling c = new AffineCoupling(5, mlp(3, 4, device, g), Mask.HALVES, true)) {
                roundTrip(c, input(new long[] {4, 5}, 3, device), 1e-5, "AffineCoupling odd D");
            }
            roundTrip(new Squeeze(), img, 0, "Squeeze");
            // Squeeze moves pixel (2y + i, 2x + j) of channel c to channel 4c + 2i + j (Glow's order)
            try (FlowResult r = new Squeeze().forwardWithLogDet(img)) {
                float[] in = img.toFloatArray(), out = r.z().toFloatArray();
                assertArrayEquals(new long[] {3, 16, 3, 3}, r.z().shape());
                for (int n = 0; n < 3; n++) for (int c = 0; c < 4; c++) for (int y = 0; y < 6; y++) for (int xx = 0; xx < 6; xx++) {
                    int oc = 4 * c + 2 * (y % 2) + xx % 2;
                    assertEquals(in[((n * 4 + c) * 6 + y) * 6 + xx], out[((n * 16 + oc) * 3 + y / 2) * 3 + xx / 2]);
                }
                assertArrayEquals(new float[3], r.logDet().toFloatArray());
            }
            Split split = new Split();
            Tensor[] parts = split.split(img);
            assertClose(img.toFloatArray(), split.merge(parts[0], parts[1]).toFloatArray(), 0, "Split");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void flowsInvert(Device device) {
        for (Function<Device, Flow> make : java.util.List.<Function<Device, Flow>>of(d -> featureFlow(d, 11),
                d -> imageFlow(d, 12), d -> multiscaleFlow(d, 13))) {
            try (Scope scope = Scope.open(); Flow flow = make.apply(device)) {
                long[] shape = new long[flow.sampleShape().length + 1];
                shape[0] = 9;
                System.arraycopy(flow.sampleShape(), 0, shape, 1, flow.sampleShape().length);
                Tensor x = input(shape, 4, device);
                flow.forwardWithLogDet(x).close();  // ActNorm's data-dependent init
                roundTrip(flow, x, 2e-5, "flow " + flow.sampleShape().length + "-d on " + device);
                // samples are finite and come back from noise: inverse then forward
                Tensor s = flow.sample(5, new Generator(3));
                assertEquals(5, s.shape(0));
                try (FlowResult r = flow.forwardWithLogDet(s); Tensor again = flow.inverse(r.z())) {
                    assertClose(s.toFloatArray(), again.toFloatArray(), 2e-5, "sample round trip");
                }
                // logProb = log N(z) + logDet
                try (FlowResult r = flow.forwardWithLogDet(x); Tensor lp = flow.logProb(x)) {
                    float[] z = r.z().toFloatArray(), ld = r.logDet().toFloatArray(), got = lp.toFloatArray();
                    long d = flow.latentSize();
                    for (int n = 0; n < 9; n++) {
                        double sq = 0;
                        for (int j = 0; j < d; j++) sq += z[(int) (n * d + j)] * (double) z[(int) (n * d + j)];
                        double e = -0.5 * sq - 0.5 * d * Math.log(2 * Math.PI) + ld[n];
                        assertEquals(e, got[n], 1e-4 * (1 + Math.abs(e)));
                    }
                }
            }
        }
    }

    /** log |det dz/dx| by central differences of the f32 flow, the determinant in double (LU, partial pivoting). */
    static double[] numericalLogDet(Flow flow, Tensor x, double h) {
        long n = x.shape(0);
        int d = (int) flow.latentSize();
        float[] base = x.toFloatArray();
        double[][][] jac = new double[(int) n][d][d];
        for (int j = 0; j < d; j++) {
            float[] plus = base.clone(), minus = base.clone();
            for (int i = 0; i < n; i++) {
                plus[i * d + j] += (float) h;
                minus[i * d + j] -= (float) h;
            }
            float[] zp, zm;
            double hp, hm;
            try (Tensor xp = Tensor.of(plus, x.shape(), x.device()); Tensor xm = Tensor.of(minus, x.shape(), x.device());
                 Tensor a = flow.forward(xp); Tensor b = flow.forward(xm)) {
                zp = a.toFloatArray();
                zm = b.toFloatArray();
            }
            for (int i = 0; i < n; i++) {
                double step = (double) plus[i * d + j] - (double) minus[i * d + j];
                for (int k = 0; k < d; k++) jac[i][k][j] = ((double) zp[i * d + k] - zm[i * d + k]) / step;
            }
        }
        double[] out = new double[(int) n];
        for (int i = 0; i < n; i++) out[i] = logAbsDet(jac[i]);
        return out;
    }

    static double logAbsDet(double[][] m) {
        int n = m.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) a[i] = m[i].clone();
        double sum = 0;
        for (int k = 0; k < n; k++) {
            int p = k;
            for (int i = k + 1; i < n; i++) if (Math.abs(a[i][k]) > Math.abs(a[p][k])) p = i;
            double[] t = a[k]; a[k] = a[p]; a[p] = t;
            sum += Math.log(Math.abs(a[k][k]));
            for (int i = k + 1; i < n; i++) {
                double f = a[i][k] / a[k][k];
                for (int j = k; j < n; j++) a[i][j] -= f * a[k][j];
            }
        }
        return sum;
    }

    @ParameterizedTest
    @MethodSource("devices")
    void logDetMatchesNumericalJacobian(Device device) {
        for (Function<Device, Flow> make : java.util.List.<Function<Device, Flow>>of(d -> featureFlow(d, 21), d -> imageFlow(d, 22))) {
            try (Scope scope = Scope.open(); Flow flow = make.apply(device)) {
                long[] shape = new long[flow.sampleShape().length + 1];
                shape[0] = 6;
                System.arraycopy(flow.sampleShape(), 0, shape, 1, flow.sampleShape().length);
                Tensor x = input(shape, 5, device);
                flow.forwardWithLogDet(x).close();  // ActNorm's data-dependent init
                float[] ld;
                try (FlowResult r = flow.forwardWithLogDet(x)) {
                    ld = r.logDet().toFloatArray();
                }
                double[] num = numericalLogDet(flow, x, 1e-2);
                for (int i = 0; i < num.length; i++)
                    assertEquals(num[i], ld[i], 2e-3 * (1 + Math.abs(num[i])), "sample " + i + " on " + device);
            }
        }
    }

    /** Each layer on its own against its numerical Jacobian (D = 4 rows). */
    @ParameterizedTest
    @MethodSource("devices")
    void layerLogDets(Device device) {
        Generator g = new Generator(8);
        FlowLayer[] layers = {new ActNorm(4, device), new InvertibleConv1x1(4, device, g),
                new AffineCoupling(4, mlp(2, 4, device, g), Mask.HALVES, false),
                new AffineCoupling(4, mlp(2, 4, device, g), Mask.PARITY, true)};
        for (FlowLayer layer : layers) {
            try (Scope scope = Scope.open(); Flow flow = new Flow(new long[] {4}, layer)) {
                Tensor x = input(new long[] {5, 4}, 6, device);
                flow.forwardWithLogDet(x).close();
                float[] ld;
                try (FlowResult r = flow.forwardWithLogDet(x)) {
                    ld = r.logDet().toFloatArray();
                }
                double[] num = numericalLogDet(flow, x, 1e-2);
                for (int i = 0; i < num.length; i++)
                    assertEquals(num[i], ld[i], 2e-3 * (1 + Math.abs(num[i])), layer.getClass().getSimpleName() + " sample " + i);
            }
        }
    }
}
