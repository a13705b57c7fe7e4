package org.deepkern.conv;

import static org.deepkern.conv.ConvReference.abs;
import static org.deepkern.testing.Close.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.Device;
import org.deepkern.DType;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cpu backend's NCHW forwards without groups, each with every part of the fused epilogue
 * act(conv(x) + bias) + residual on and off (the residual apart from out or out itself), against
 * ConvReference: pointwise convs as one product per image (C below 16, pixels past a column block,
 * batch above 1, K past a row block), the others through the NHWC product (odd H and W, stride 2,
 * padding, dilation, C and K not multiples of 16, a 1x1 filter with a stride).
 */
class ConvNchwRouteTest {
    static List<Geom> geoms() {
        return List.of(
                new Geom(3, 20, 37, 41, 37, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),    // pointwise, 1517 pixels, batch 3
                new Geom(2, 5, 7, 9, 19, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),       // pointwise, C 5
                new Geom(1, 33, 5, 3, 150, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1),     // pointwise, K 150: two row blocks
                new Geom(2, 17, 9, 7, 23, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1),      // 1x1 stride 2: through NHWC
                new Geom(2, 33, 11, 13, 21, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),    // 3x3 stride 2, odd sizes
                new Geom(3, 16, 10, 9, 35, 3, 3, 1, 1, 2, 1, 2, 0, 2, 2, 1),     // dilation 2, uneven padding
                new Geom(1, 40, 9, 31, 17, 5, 3, 1, 2, 2, 2, 1, 1, 1, 1, 1));    // 5x3 filter, column stride
    }

    /** (bias, activation, residual) combinations: residual 0 none, 1 apart from out, 2 out itself. */
    record Epilogue(boolean bias, Act act, int residual) {}

    static Stream<Arguments> cases() {
        List<Epilogue> epilogues = List.of(new Epilogue(false, null, 0), new Epilogue(true, null, 0),
                new Epilogue(true, Act.relu(), 0), new Epilogue(false, Act.silu(), 1), new Epilogue(true, Act.silu(), 2),
                new Epilogue(true, null, 1), new Epilogue(false, Act.relu(), 2));
        List<Arguments> out = new ArrayList<>();
        for (Geom g : geoms())
            for (Epilogue e : epilogues) out.add(Arguments.of(g, e));
        return out.stream();
    }

    static double activate(Act act, double v) {
        if (act == null) return v;
        return act.equals(Act.relu()) ? Math.max(v, 0) : v / (1 + Math.exp(-v));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void againstReference(Geom g, Epilogue e) {
        Random rnd = new Random(g.hashCode() * 31L + e.hashCode());
        double[] x = ConvTest.randn(rnd, g.xSize()), w = ConvTest.randn(rnd, g.wSize()), b = ConvTest.randn(rnd, g.k()),
                res = ConvTest.randn(rnd, g.ySize());
        int P = g.p(), Q = g.q();
        double[] conv = ConvReference.forward(g, x, w, e.bias() ? b : null);
        double[] scale = ConvReference.forward(g, abs(x), abs(w), e.bias() ? abs(b) : null);
        double[] expected = new double[conv.length];
        for (int i = 0; i < conv.length; i++) {
            expected[i] = activate(e.act(), conv[i]) + (e.residual() > 0 ? res[i] : 0);
            scale[i] = 1.1 * scale[i] + (e.residual() > 0 ? Math.abs(res[i]) : 0);
        }
        try (Scope scope = Scope.open()) {
            Device d = Device.CPU;
            Tensor tx = ConvTest.upload(d, DType.F32, x, false, g.n(), g.c(), g.h(), g.w());
            Tensor tw = ConvTest.upload(d, DType.F32, w, false, g.k(), g.cg(), g.r(), g.s());
            Tensor tb = e.bias() ? Tensor.of(ConvTest.f(b), new long[] {g.k()}, d) : null;
            Conv2dParams p = e.act() == null ? g.params(Layout.NCHW) : g.params(Layout.NCHW).withActivation(e.act());
            Tensor y = e.residual() == 2 ? ConvTest.upload(d, DType.F32, res, false, g.n(), g.k(), P, Q)
                    : ConvTest.poisoned(d, DType.F32, false, g.n(), g.k(), P, Q);
            Tensor tr = switch (e.residual()) {
                case 1 -> ConvTest.upload(d, DType.F32, res, false, g.n(), g.k(), P, Q);
                case 2 -> y;
                default -> null;
            };
            F.conv2d(tx, tw, tb, tr, p, y);
            assertClose(expected, y.toFloatArray(), 0, i -> 1e-5 * scale[i] + 1e-30, "nchw " + g + " " + e);
        }
    }
}
