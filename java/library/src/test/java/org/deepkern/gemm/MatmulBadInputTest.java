package org.deepkern.gemm;

import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import static org.deepkern.testing.BadInput.assertRejects;

import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad calls of matmul and linear: DeepKernException naming the argument; the JVM lives on. */
class MatmulBadInputTest {
    static Scope scope;
    static Tensor a, b, b16, v, scalar, i32, batchA, batchB, w, wWrong, bias, biasWrong, res, resWrong;

    @BeforeAll
    static void make() {
        scope = Scope.open();
        Device cpu = Device.CPU;
        a = Tensor.zeros(new long[] {4, 6}, DType.F32, cpu);
        b = Tensor.zeros(new long[] {5, 3}, DType.F32, cpu);
        b16 = Tensor.zeros(new long[] {6, 3}, DType.F16, cpu);
        v = Tensor.zeros(new long[] {6}, DType.F32, cpu);
        scalar = Tensor.zeros(new long[0], DType.F32, cpu);
        i32 = Tensor.zeros(new long[] {6, 3}, DType.I32, cpu);
        batchA = Tensor.zeros(new long[] {2, 4, 6}, DType.F32, cpu);
        batchB = Tensor.zeros(new long[] {3, 6, 5}, DType.F32, cpu);
        w = Tensor.zeros(new long[] {5, 6}, DType.F32, cpu);
        wWrong = Tensor.zeros(new long[] {5, 7}, DType.F32, cpu);
        bias = Tensor.zeros(new long[] {5}, DType.F32, cpu);
        biasWrong = Tensor.zeros(new long[] {6}, DType.F32, cpu);
        res = Tensor.zeros(new long[] {4, 5}, DType.F32, cpu);
        resWrong = Tensor.zeros(new long[] {5, 4}, DType.F32, cpu);
    }

    @AfterAll
    static void release() {
        scope.close();
    }

    static Stream<Arguments> table() {
        List<Object[]> rows = List.of(
                new Object[] {"inner dims differ", "b", "inner dimensions differ", (Executable) () -> F.matmul(a, b)},
                new Object[] {"inner dims differ when transposed", "b", "inner dimensions differ",
                        (Executable) () -> F.matmul(a, b, false, true)},
                new Object[] {"dtypes differ", "b", "expected dtype f32", (Executable) () -> F.matmul(a, b16)},
                new Object[] {"integer operand", "b", "floating dtype", (Executable) () -> F.matmul(a, i32)},
                new Object[] {"0-D operand", "b", "got a scalar", (Executable) () -> F.matmul(a, scalar)},
                new Object[] {"vector length differs", "b", "inner dimensions differ", (Executable) () -> F.matmul(v, b)},
                new Object[] {"backward gradOut shape", "gradOut", "expected the output's shape [4, 3]",
                        (Executable) () -> F.matmulBackward(a, i32.to(DType.F32), res, false, false)},
                new Object[] {"backward batch dims do not broadcast", "b", "do not broadcast",
                        (Executable) () -> F.matmulBackward(batchA, batchB, res, false, false)},
                new Object[] {"linear backward gradOut shape", "gradOut", "expected the output's shape [4, 5]",
                        (Executable) () -> F.linearBackward(a, w, bias, Act.silu(), resWrong)},
                new Object[] {"batch dims do not broadcast", "b", "do not broadcast", (Executable) () -> F.matmul(batchA, batchB)},
                new Object[] {"null operand", "a", "null", (Executable) () -> F.matmul(null, b)},
                new Object[] {"linear in_features", "weight", "in_features", (Executable) () -> F.linear(a, wWrong, bias)},
                new Object[] {"linear weight rank", "weight", "[out_features, in_features]", (Executable) () -> F.linear(a, v, null)},
                new Object[] {"linear bias length", "bias", "expected shape [5]", (Executable) () -> F.linear(a, w, biasWrong)},
                new Object[] {"linear residual shape", "residual", "expected shape [4, 5]",
                        (Executable) () -> F.linear(a, w, bias, Act.relu(), resWrong)},
                new Object[] {"linear bad activation", "alpha", "must not be 0",
                        (Executable) () -> F.linear(a, w, bias, Act.celu(0), res)},
                new Object[] {"null b", "b", "null", (Executable) () -> F.matmul(a, null)},
                new Object[] {"null weight", "weight", "null", (Executable) () -> F.linear(a, null, null)},
                new Object[] {"empty operands whose broadcast product overflows", "b", "overflows",
                        (Executable) () -> F.matmul(Tensor.zeros(new long[] {1L << 31, 1, 1, 0}, DType.F32, Device.CPU),
                                Tensor.zeros(new long[] {1, 1L << 31, 0, 1}, DType.F32, Device.CPU))},
                new Object[] {"empty linear whose output overflows", "weight", "overflows",
                        (Executable) () -> F.linear(Tensor.zeros(new long[] {1L << 60, 0}, DType.F32, Device.CPU),
                                Tensor.zeros(new long[] {1000, 0}, DType.F32, Device.CPU), null)});
        return rows.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rejects(String name, String argument, String text, Executable call) {
        assertRejects(argument, text, call);
    }
}
