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
        a = Tensor.zeros(DType.F32, cpu, 4, 6);
        b = Tensor.zeros(DType.F32, cpu, 5, 3);
        b16 = Tensor.zeros(DType.F16, cpu, 6, 3);
        v = Tensor.zeros(DType.F32, cpu, 6);
        scalar = Tensor.zeros(DType.F32, cpu);
        i32 = Tensor.zeros(DType.I32, cpu, 6, 3);
        batchA = Tensor.zeros(DType.F32, cpu, 2, 4, 6);
        batchB = Tensor.zeros(DType.F32, cpu, 3, 6, 5);
        w = Tensor.zeros(DType.F32, cpu, 5, 6);
        wWrong = Tensor.zeros(DType.F32, cpu, 5, 7);
        bias = Tensor.zeros(DType.F32, cpu, 5);
        biasWrong = Tensor.zeros(DType.F32, cpu, 6);
        res = Tensor.zeros(DType.F32, cpu, 4, 5);
        resWrong = Tensor.zeros(DType.F32, cpu, 5, 4);
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
                        (Executable) () -> F.matmul(Tensor.zeros(DType.F32, Device.CPU, 1L << 31, 1, 1, 0),
                                Tensor.zeros(DType.F32, Device.CPU, 1, 1L << 31, 0, 1))},
                new Object[] {"empty linear whose output overflows", "weight", "overflows",
                        (Executable) () -> F.linear(Tensor.zeros(DType.F32, Device.CPU, 1L << 60, 0),
                                Tensor.zeros(DType.F32, Device.CPU, 1000, 0), null)});
        return rows.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rejects(String name, String argument, String text, Executable call) {
        assertRejects(argument, text, call);
    }
}
