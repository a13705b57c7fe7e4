package org.deepkern.norm;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad calls of softmax over a dim and of the norms over a normalized shape: each raises
 * DeepKernException naming the Java call and the argument.
 */
class NormDimBadInputTest {
    static Scope scope;
    static Tensor x, other, i32, scalar, w34, w12, closed, wrongDev;

    @BeforeAll
    static void make() {
        scope = Scope.open();
        x = Tensor.zeros(new long[] {2, 3, 4}, DType.F32, Device.CPU);
        other = Tensor.zeros(new long[] {2, 4, 3}, DType.F32, Device.CPU);
        i32 = Tensor.zeros(new long[] {2, 3, 4}, DType.I32, Device.CPU);
        scalar = Tensor.zeros(new long[0], DType.F32, Device.CPU);
        w34 = Tensor.zeros(new long[] {3, 4}, DType.F32, Device.CPU);
        w12 = Tensor.zeros(new long[] {12}, DType.F32, Device.CPU);
        closed = Tensor.zeros(new long[] {2, 3, 4}, DType.F32, Device.CPU);
        closed.close();
        wrongDev = Tensor.zeros(new long[] {3, 4}, DType.F32, Device.EMU);
    }

    @AfterAll
    static void release() {
        scope.close();
    }

    static Stream<Arguments> table() {
        long[] ns = {3, 4};
        List<Object[]> rows = List.of(
                new Object[] {"softmax dim too large", "F.softmax", "dim", "expected -3..2", (Executable) () -> F.softmax(x, 3)},
                new Object[] {"softmax dim too small", "F.softmax", "dim", "expected -3..2", (Executable) () -> F.softmax(x, -4)},
                new Object[] {"log_softmax dim", "F.logSoftmax", "dim", "expected -3..2", (Executable) () -> F.logSoftmax(x, 5)},
                new Object[] {"softmax of null over a dim", "F.softmax", "x", "null", (Executable) () -> F.softmax(null, 0)},
                new Object[] {"softmax of a closed tensor", "F.softmax", "x", "closed", (Executable) () -> F.softmax(closed, 0)},
                new Object[] {"softmax of an integer tensor over dim 0", "F.softmax", "x", "floating dtype",
                        (Executable) () -> F.softmax(i32, 0)},
                new Object[] {"softmax of a scalar over dim 0 (torch's range)", "F.softmax", "x", "at least one dimension",
                        (Executable) () -> F.softmax(scalar, 0)},
                new Object[] {"softmax of a scalar, dim 1", "F.softmax", "dim", "expected -1..0", (Executable) () -> F.softmax(scalar, 1)},
                new Object[] {"softmax backward, grad shape", "F.softmaxBackward", "gradOut", "expected shape [2, 3, 4] (y's), got [2, 4, 3]",
                        (Executable) () -> F.softmaxBackward(x, other, 0)},
                new Object[] {"softmax backward, dim", "F.softmaxBackward", "dim", "expected -3..2",
                        (Executable) () -> F.softmaxBackward(x, x, 3)},
                new Object[] {"log_softmax backward, null grad", "F.logSoftmaxBackward", "gradOut", "null",
                        (Executable) () -> F.logSoftmaxBackward(x, null, 1)},
                new Object[] {"layer_norm shape not trailing", "F.layerNorm", "normalizedShape", "trailing extents of x's shape [2, 3, 4]",
                        (Executable) () -> F.layerNorm(x, new long[] {2, 3})},
                new Object[] {"layer_norm shape too long", "F.layerNorm", "normalizedShape", "got [1, 2, 3, 4]",
                        (Executable) () -> F.layerNorm(x, new long[] {1, 2, 3, 4})},
                new Object[] {"layer_norm empty shape", "F.layerNorm", "normalizedShape", "at least one",
                        (Executable) () -> F.layerNorm(x, new long[0])},
                new Object[] {"layer_norm null shape", "F.layerNorm", "normalizedShape", "null", (Executable) () -> F.layerNorm(x, (long[]) null)},
                new Object[] {"layer_norm flat weight", "F.layerNorm", "weight", "expected shape [3, 4] (normalizedShape), got [12]",
                        (Executable) () -> F.layerNorm(x, ns, w12, null)},
                new Object[] {"layer_norm flat bias", "F.layerNorm", "bias", "expected shape [3, 4]",
                        (Executable) () -> F.layerNorm(x, ns, w34, w12)},
                new Object[] {"layer_norm weight on another device", "F.layerNorm", "weight", "move one with to(device)",
                        (Executable) () -> F.layerNorm(x, ns, wrongDev, null)},
                new Object[] {"layer_norm eps 0", "F.layerNorm", "eps", "> 0", (Executable) () -> F.layerNorm(x, ns, w34, w34, 0)},
                new Object[] {"layer_norm of null", "F.layerNorm", "x", "null", (Executable) () -> F.layerNorm(null, ns)},
                new Object[] {"layer_norm of a scalar", "F.layerNorm", "normalizedShape", "trailing extents of x's shape []",
                        (Executable) () -> F.layerNorm(scalar, new long[] {1})},
                new Object[] {"layer_norm of an integer tensor", "F.layerNorm", "x", "floating dtype", (Executable) () -> F.layerNorm(i32, ns)},
                new Object[] {"rms_norm shape not trailing", "F.rmsNorm", "normalizedShape", "got [4, 3]",
                        (Executable) () -> F.rmsNorm(x, new long[] {4, 3})},
                new Object[] {"rms_norm flat weight", "F.rmsNorm", "weight", "expected shape [3, 4] (normalizedShape), got [12]",
                        (Executable) () -> F.rmsNorm(x, ns, w12)},
                new Object[] {"rms_norm eps NaN", "F.rmsNorm", "eps", "> 0", (Executable) () -> F.rmsNorm(x, ns, w34, Double.NaN)},
                new Object[] {"rms_norm last-dim default, weight length", "F.rmsNorm", "weight", "expected shape [4]",
                        (Executable) () -> F.rmsNorm(x, w12)},
                new Object[] {"layer_norm last-dim default, closed x", "F.layerNorm", "x", "closed",
                        (Executable) () -> F.layerNorm(closed, null, null)});
        return rows.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rejects(String name, String call, String argument, String text, Executable run) {
        String message = assertRejects(name, argument, text, run).getMessage();
        assertTrue(message.startsWith(call + ": "), "names " + call + ": " + message);
    }
}
