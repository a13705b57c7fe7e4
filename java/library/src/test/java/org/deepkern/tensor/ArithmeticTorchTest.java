package org.deepkern.tensor;

import java.util.Arrays;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Broadcast;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Arithmetic and reductions against PyTorch (f32, cpu), the oracle first checked against the
 * double reference on the same inputs; deepkern is asserted against the reference either way.
 */
class ArithmeticTorchTest {
    private static final double RTOL = 1e-6, ATOL = 1e-6;

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void binaryOpsAgreeWithTorch(Device dev) {
        for (long[][] pair : ArithmeticTest.PAIRS) {
            float[] av = ArithmeticTest.values(Broadcast.numel(pair[0]), 5, DType.F32);
            float[] bv = ArithmeticTest.values(Broadcast.numel(pair[1]), 6, DType.F32);
            for (int i = 0; i < bv.length; i++) if (bv[i] == 0) bv[i] = 0.5f;
            for (String op : new String[] {"add", "sub", "mul", "div", "maximum", "minimum"}) {
                String what = op + " " + Arrays.toString(pair[0]) + " " + Arrays.toString(pair[1]) + " on " + dev;
                double[] ref = Broadcast.apply(av, pair[0], bv, pair[1], switch (op) {
                    case "add" -> Double::sum;
                    case "sub" -> (x, y) -> x - y;
                    case "mul" -> (x, y) -> x * y;
                    case "div" -> (x, y) -> x / y;
                    case "maximum" -> Math::max;
                    default -> Math::min;
                });
                float[] theirs = Torch.binary(op, av, pair[0], bv, pair[1]);
                float[] ours;
                try (Scope scope = Scope.open()) {
                    Tensor a = ArithmeticTest.make(av, pair[0], DType.F32, dev), b = ArithmeticTest.make(bv, pair[1], DType.F32, dev);
                    ours = (switch (op) {
                        case "add" -> a.add(b);
                        case "sub" -> a.sub(b);
                        case "mul" -> a.mul(b);
                        case "div" -> a.div(b);
                        case "maximum" -> a.maximum(b);
                        default -> a.minimum(b);
                    }).toFloatArray();
                }
                Oracle torch = Oracle.torch().vet(what, ref, theirs, RTOL, ATOL);
                Close.assertClose(ref, ours, RTOL, ATOL, what);
                torch.judge(() -> Close.assertClose(toDoubles(theirs), ours, RTOL, ATOL, what + " vs torch"));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void reductionsAgreeWithTorch(Device dev) {
        long[] shape = {4, 6, 9};
        float[] xv = ArithmeticTest.values(4 * 6 * 9, 7, DType.F32);
        for (String op : ReductionTest.OPS) {
            for (int dim = 0; dim < 3; dim++) {
                for (boolean keepdim : new boolean[] {false, true}) {
                    String what = op + "(" + dim + (keepdim ? ", keepdim) on " : ") on ") + dev;
                    boolean[] reduced = new boolean[3];
                    reduced[dim] = true;
                    double[] ref = ReductionTest.reference(xv, shape, op, reduced);
                    float[] theirs = Torch.reduce(op, xv, shape, new long[] {dim}, keepdim);
                    float[] ours;
                    try (Scope scope = Scope.open(); Tensor x = ArithmeticTest.make(xv, shape, DType.F32, dev)) {
                        ours = ReductionTest.run(x, op, new int[] {dim}, keepdim).toFloatArray();
                    }
                    Oracle torch = Oracle.torch().vet(what, ref, theirs, RTOL, ATOL);
                    Close.assertClose(ref, ours, RTOL, ATOL, what);
                    torch.judge(() -> Close.assertClose(toDoubles(theirs), ours, RTOL, ATOL, what + " vs torch"));
                }
            }
        }
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
