package org.deepkern.conv;

import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import static org.deepkern.testing.Close.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused epilogue act(conv(x) + b) + residual equals conv followed by the separate bias +
 * activation op and the addition, for activations of every shape (kinks, parameters,
 * transcendentals), in NHWC where the channel is the last dim the activation op's bias runs over;
 * NCHW's fused output equals NHWC's permuted. residual may be out itself.
 */
class ConvEpilogueTest {
    static final Geom G = new Geom(2, 5, 7, 6, 7, 3, 3, 2, 1, 1, 2, 0, 1, 1, 2, 1);

    static Stream<Arguments> cases() {
        List<Act> acts = List.of(Act.relu(), Act.gelu(), Act.gelu(GeluApproximation.TANH), Act.silu(), Act.hardtanh(-0.5, 0.5),
                Act.leakyRelu(0.1), Act.tanh(), Act.softplus(2, 10), Act.elu(0.7), Act.hardswish(), Act.mish());
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> acts.forEach(a -> out.add(Arguments.of(d, a))));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void fusedEqualsSeparateOps(Device d, Act act) {
        Geom g = G;
        Random rnd = new Random(act.hashCode());
        double[] x = ConvTest.randn(rnd, g.xSize()), w = ConvTest.randn(rnd, g.wSize()), b = ConvTest.randn(rnd, g.k()),
                res = ConvTest.randn(rnd, g.ySize());
        int P = g.p(), Q = g.q();
        try (Scope scope = Scope.open()) {
            Tensor tx = ConvTest.upload(d, DType.F32, x, true, g.n(), g.c(), g.h(), g.w());
            Tensor tw = ConvTest.upload(d, DType.F32, w, true, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = Tensor.of(ConvTest.f(b), new long[] {g.k()}, d);
            Tensor tr = ConvTest.upload(d, DType.F32, res, true, g.n(), g.k(), P, Q);
            Conv2dParams p = g.params(Layout.NHWC);

            Tensor fused = F.conv2d(tx, tw, tb, tr, p.withActivation(act));
            Tensor plain = F.conv2d(tx, tw, null, p);
            float[] separate = F.activation(act, plain, tb).toFloatArray();
            float[] r = tr.toFloatArray();
            double[] expected = new double[separate.length];
            for (int i = 0; i < separate.length; i++) expected[i] = separate[i] + r[i];
            assertClose(expected, fused.toFloatArray(), 1e-6, 1e-6, "fused " + act + " " + d);

            // residual as out itself: in place
            Tensor inPlace = ConvTest.upload(d, DType.F32, res, true, g.n(), g.k(), P, Q);
            F.conv2d(tx, tw, tb, inPlace, p.withActivation(act), inPlace);
            assertClose(expected, inPlace.toFloatArray(), 1e-6, 1e-6, "in place " + act + " " + d);

            // NCHW: the same numbers, permuted
            Tensor nx = ConvTest.upload(d, DType.F32, x, false, g.n(), g.c(), g.h(), g.w());
            Tensor nw = ConvTest.upload(d, DType.F32, w, false, g.k(), g.cg(), g.r(), g.s());
            Tensor nr = ConvTest.upload(d, DType.F32, res, false, g.n(), g.k(), P, Q);
            Tensor nf = F.conv2d(nx, nw, tb, nr, g.params(Layout.NCHW).withActivation(act));
            assertClose(ConvReference.fromLast(fused.toFloatArray(), g.n(), g.k(), P, Q), nf.toFloatArray(), 1e-5, 1e-4,
                    "nchw " + act + " " + d);
        }
    }
}
