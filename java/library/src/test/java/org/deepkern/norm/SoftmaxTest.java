package org.deepkern.norm;

import org.deepkern.testing.RowChecks;
import org.deepkern.testing.RowReference;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.ops.F;
import static org.deepkern.testing.RowChecks.assertFiniteDifferences;
import static org.deepkern.testing.RowChecks.assertRef;
import static org.deepkern.testing.RowChecks.normal;
import static org.deepkern.testing.RowChecks.tensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** softmax and log_softmax over the last dim, forward and backward, against plain double loops. */
class SoftmaxTest {
    static Stream<Arguments> cases() {
        return RowChecks.deviceDtypeShapes();
    }

    static Stream<Arguments> devices() {
        return RowChecks.devices();
    }

    @ParameterizedTest(name = "{0} {1} [{2}, {3}]")
    @MethodSource("cases")
    void forwardAndBackward(Device device, DType dtype, int rows, int cols) {
        try (Scope s = Scope.open()) {
            int n = rows * cols;
            long seed = 1000L * rows + cols;
            // N(0, 3^2) with a shift per row so the max subtraction matters
            float[] xv = normal(n, seed, 0, 3);
            for (int i = 0; i < n; i++) xv[i] += 40 * ((i / cols) % 3);
            Tensor x = tensor(device, dtype, xv, rows, cols);
            Tensor dy = tensor(device, dtype, normal(n, seed + 1, 0, 1), rows, cols);
            float[] xs = x.toFloatArray(), gs = dy.toFloatArray();
            String what = dtype + " [" + rows + ", " + cols + "] on " + device;
            for (boolean log : new boolean[] {false, true}) {
                String op = log ? "log_softmax " : "softmax ";
                ActivationChecks.poisonNextAllocations(dtype, device, new long[] {rows, cols});
                Tensor y = log ? F.logSoftmax(x) : F.softmax(x);
                assertRef(RowReference.softmax(xs, rows, cols, log), y, dtype, op + what);
                float[] ys = y.toFloatArray();
                ActivationChecks.poisonNextAllocations(dtype, device, new long[] {rows, cols});
                Tensor dx = log ? F.logSoftmaxBackward(y, dy) : F.softmaxBackward(y, dy);
                assertRef(RowReference.softmaxBackward(ys, gs, rows, cols, log), dx, dtype, op + "backward " + what);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void backwardIsTheDerivative(Device device) {
        try (Scope s = Scope.open()) {
            int rows = 3, cols = 7;
            float[] xv = normal(rows * cols, 5, 0, 1.5), r = normal(rows * cols, 6, 0, 1);
            long[] shape = {rows, cols};
            Tensor x = Tensor.of(xv, shape, device), g = Tensor.of(r, shape, device);
            for (boolean log : new boolean[] {false, true}) {
                Tensor y = log ? F.logSoftmax(x) : F.softmax(x);
                float[] grad = (log ? F.logSoftmaxBackward(y, g) : F.softmaxBackward(y, g)).toFloatArray();
                assertFiniteDifferences(device, xv.clone(), shape, r, t -> log ? F.logSoftmax(t) : F.softmax(t), grad,
                        (log ? "log_softmax" : "softmax") + " on " + device);
            }
        }
    }

    /** Masked rows: -inf entries get probability 0; +large values do not overflow; in any rank. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void infinitiesAndRank(Device device) {
        try (Scope s = Scope.open()) {
            float inf = Float.NEGATIVE_INFINITY;
            float[] xv = {inf, 0, 1e30f, 1e30f, 2, inf, inf, 3};  // [2, 2, 2]
            float[] p = F.softmax(Tensor.of(xv, new long[] {2, 2, 2}, device)).toFloatArray();
            float[] expect = {0, 1, 0.5f, 0.5f, 1, 0, 0, 1};
            for (int i = 0; i < p.length; i++) assertEquals(expect[i], p[i], 1e-7, "element " + i);
            float[] lp = F.logSoftmax(Tensor.of(xv, new long[] {2, 2, 2}, device)).toFloatArray();
            assertTrue(lp[0] == inf && lp[1] == 0 && Math.abs(lp[2] + Math.log(2)) < 1e-6, java.util.Arrays.toString(lp));
        }
    }
}
