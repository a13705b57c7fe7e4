package org.deepkern.loss;

import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.loss.LossReference.Kind;
import org.deepkern.ops.F;
import org.deepkern.ops.Reduction;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * PyTorch's losses (CPU, through the presets) as a second opinion: each answer is vetted against the
 * double reference first (a wrong PyTorch skips its case), then deepkern is compared with it. The
 * focal loss has no PyTorch counterpart: LossTest checks it against the reference alone.
 */
class LossTorchTest {
    static final double RTOL = 1e-4;

    static double[] doubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    static double atol(double[] ref) {
        double m = 0;
        for (double v : ref) m = Math.max(m, Math.abs(v));
        return 1e-5 * Math.max(1, m);
    }

    @TestFactory
    Stream<DynamicTest> elementwise() {
        List<DynamicTest> tests = new ArrayList<>();
        String[] kinds = {"mse", "l1", "smoothL1", "bce", "bce posWeight"};
        TestDevices.host().forEach(dev -> {
            for (String kind : kinds)
                for (Reduction r : Reduction.values()) {
                    String what = kind + " " + r + " on " + dev;
                    tests.add(dynamicTest(what, () -> {
                        long[] shape = {5, 17};
                        int n = 85;
                        boolean bce = kind.startsWith("bce");
                        float[] x = normal(n, 1, 0, 2);
                        float[] t = bce ? LossTest.uniform(n, 2, 0, 1) : normal(n, 2, 0, 1);
                        float[] pw = kind.endsWith("posWeight") ? LossTest.uniform(17, 3, 0.2, 3) : null;
                        float[] g = normal(r == Reduction.NONE ? n : 1, 4, 0, 1);
                        Kind k = switch (kind) {
                            case "mse" -> Kind.MSE;
                            case "l1" -> Kind.L1;
                            case "smoothL1" -> Kind.SMOOTH_L1;
                            default -> Kind.BCE;
                        };
                        double beta = 0.8;
                        double[] refValue = LossReference.elementwise(k, x, t, pw, beta, r);
                        double[] refGrad = LossReference.elementwiseGrad(k, x, t, pw, beta, r, g);
                        Torch.Result torch = Torch.loss(bce ? "bce" : kind, x, t, shape, pw, r.ordinal(), beta, g, DType.F32);
                        Oracle o = Oracle.torch().vet(what + " value", refValue, torch.value(), RTOL, atol(refValue))
                                .vet(what + " grad", refGrad, torch.grads()[0], RTOL, atol(refGrad));
                        try (Scope s = Scope.open()) {
                            Tensor tx = Tensor.of(x, shape, dev), tt = Tensor.of(t, shape, dev);
                            Tensor tpw = pw == null ? null : Tensor.of(pw, new long[] {17}, dev);
                            Tensor tg = Tensor.of(g, r == Reduction.NONE ? shape : new long[] {1}, dev);
                            LossTest.Elementwise e = new LossTest.Elementwise(kind, k, beta, pw != null);
                            float[] value = LossTest.forward(e, tx, tt, r, tpw).toFloatArray();
                            float[] grad = LossTest.backward(e, tg, tx, tt, r, tpw).toFloatArray();
                            Close.assertClose(refValue, value, RTOL, atol(refValue), what + " value");
                            o.judge(() -> {
                                Close.assertClose(doubles(torch.value()), value, RTOL, atol(refValue), what + " value vs torch");
                                Close.assertClose(doubles(torch.grads()[0]), grad, RTOL, atol(refGrad), what + " grad vs torch");
                            });
                        }
                    }));
                }
        });
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> crossEntropy() {
        List<DynamicTest> tests = new ArrayList<>();
        long[][] shapes = {{6, 11}, {1, 1}, {3, 4, 5}, {40, 129}};
        TestDevices.host().forEach(dev -> {
            for (long[] shape : shapes)
                for (double smoothing : new double[] {0, 0.25})
                    for (Reduction r : Reduction.values()) {
                        String what = "crossEntropy " + java.util.Arrays.toString(shape) + " smoothing " + smoothing + " "
                                + r + " on " + dev;
                        tests.add(dynamicTest(what, () -> {
                            int classes = (int) shape[1], inner = shape.length == 3 ? (int) shape[2] : 1;
                            long[] ts = shape.length == 3 ? new long[] {shape[0], shape[2]} : new long[] {shape[0]};
                            int rows = (int) (shape[0] * inner), n = rows * classes;
                            Random rnd = new Random(what.hashCode());
                            long[] y = new long[rows];
                            for (int i = 0; i < rows; i++) y[i] = rnd.nextInt(4) == 0 ? -100 : rnd.nextInt(classes);
                            if (rows > 1) y[0] = 0;  // at least one row counts
                            float[] x = normal(n, 5, 0, 3);
                            float[] g = normal(r == Reduction.NONE ? rows : 1, 6, 0, 1);
                            double[] refValue = LossReference.crossEntropy(x, y, classes, inner, -100, smoothing, r);
                            double[] refGrad = LossReference.crossEntropyGrad(x, y, classes, inner, -100, smoothing, r, g);
                            Torch.Result torch = Torch.crossEntropy(x, shape, y, ts, r.ordinal(), -100, smoothing, g, DType.F32);
                            Oracle o = Oracle.torch().vet(what + " value", refValue, torch.value(), RTOL, atol(refValue))
                                    .vet(what + " grad", refGrad, torch.grads()[0], RTOL, atol(refGrad));
                            try (Scope s = Scope.open()) {
                                Tensor tx = Tensor.of(x, shape, dev), ty = Tensor.of(y, ts, dev);
                                Tensor tg = Tensor.of(g, r == Reduction.NONE ? ts : new long[] {1}, dev);
                                float[] value = F.crossEntropy(tx, ty, r, -100, smoothing).toFloatArray();
                                float[] grad = F.crossEntropyBackward(tg, tx, ty, r, -100, smoothing).toFloatArray();
                                Close.assertClose(refValue, value, RTOL, atol(refValue), what + " value");
                                o.judge(() -> {
                                    Close.assertClose(doubles(torch.value()), value, RTOL, atol(refValue), what + " value vs torch");
                                    Close.assertClose(doubles(torch.grads()[0]), grad, RTOL, atol(refGrad), what + " grad vs torch");
                                });
                            }
                        }));
                    }
        });
        return tests.stream();
    }
}
