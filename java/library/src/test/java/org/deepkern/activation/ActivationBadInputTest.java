package org.deepkern.activation;

import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * Invalid calls to the activations and gated units, one table per host device: each raises
 * DeepKernException (INVALID_ARGUMENT) naming the argument, and a valid call afterwards works.
 */
class ActivationBadInputTest {
    /** The tensors the calls use, made afresh for each call on its device. */
    private static final class T {
        final Tensor x, x8, g7, g4, xi, b6, b17, b7h, closed;

        T(Device d) {
            x = Tensor.zeros(new long[] {3, 7}, DType.F32, d);
            x8 = Tensor.zeros(new long[] {3, 8}, DType.F32, d);
            g7 = Tensor.zeros(new long[] {3, 7}, DType.F32, d);
            g4 = Tensor.zeros(new long[] {3, 4}, DType.F32, d);
            xi = Tensor.zeros(new long[] {3, 8}, DType.I32, d);
            b6 = Tensor.zeros(new long[] {6}, DType.F32, d);
            b17 = Tensor.zeros(new long[] {1, 7}, DType.F32, d);
            b7h = Tensor.zeros(new long[] {7}, DType.F16, d);
            closed = Tensor.zeros(new long[] {3, 7}, DType.F32, d);
            closed.close();
        }
    }

    private interface Call {
        void run(T t) throws Throwable;
    }

    private record Bad(String what, String argument, String says, Call call) {}

    private static final Act relu = Act.relu(), silu = Act.silu();

    private static List<Bad> table() {
        List<Bad> table = new ArrayList<>();
        // shapes
        table.add(new Bad("gate and up differ", "up", "shape", t -> F.gated(silu, t.x, t.x8)));
        table.add(new Bad("gate and up differ (backward)", "up", "shape", t -> F.gatedBackward(silu, t.x, t.x8, t.x)));
        table.add(new Bad("gradOut unlike gate", "gradOut", "shape", t -> F.gatedBackward(silu, t.x, t.g7, t.x8)));
        table.add(new Bad("split form, odd last dim", "x", "even last dim", t -> F.gated(silu, t.x)));
        table.add(new Bad("split backward, odd last dim", "x", "even last dim", t -> F.gatedBackward(silu, t.x, t.g7)));
        table.add(new Bad("split backward, gradOut not half of x", "gradOut", "shape", t -> F.gatedBackward(silu, t.x8, t.x8)));
        table.add(new Bad("bias of the wrong length", "bias", "expected shape [7]", t -> F.activation(relu, t.x, t.b6)));
        table.add(new Bad("bias of rank 2", "bias", "expected shape [7]", t -> F.activation(relu, t.x, t.b17)));
        table.add(new Bad("bias of the wrong length (backward)", "bias", "expected shape [7]",
                t -> F.activationBackward(relu, t.x, t.b6, t.g7)));
        table.add(new Bad("bias of another dtype", "bias", "dtype", t -> F.activation(relu, t.x, t.b7h)));
        table.add(new Bad("gradOut of another shape", "gradOut", "shape", t -> F.activationBackward(relu, t.x, t.x8)));
        // dtypes
        table.add(new Bad("integer x", "x", "floating dtype", t -> F.activation(relu, t.xi)));
        table.add(new Bad("integer x (backward)", "x", "floating dtype", t -> F.activationBackward(relu, t.xi, t.xi)));
        table.add(new Bad("integer gate", "gate", "floating dtype", t -> F.gated(silu, t.xi, t.xi)));
        table.add(new Bad("integer split x", "x", "floating dtype", t -> F.gated(silu, t.xi)));
        // closed tensors
        table.add(new Bad("closed x", "x", "closed", t -> F.activation(relu, t.closed)));
        table.add(new Bad("closed bias", "bias", "closed", t -> F.activation(relu, t.x, t.closed)));
        table.add(new Bad("closed gradOut", "gradOut", "closed", t -> F.activationBackward(relu, t.x, t.closed)));
        table.add(new Bad("closed gate", "gate", "closed", t -> F.gated(silu, t.closed, t.x)));
        table.add(new Bad("closed up", "up", "closed", t -> F.gated(silu, t.x, t.closed)));
        table.add(new Bad("closed up (backward)", "up", "closed", t -> F.gatedBackward(silu, t.x, t.closed, t.g7)));
        table.add(new Bad("closed split x", "x", "closed", t -> F.gated(silu, t.closed)));
        // parameters
        table.add(new Bad("celu alpha 0", "alpha", "must not be 0", t -> F.activation(Act.celu(0), t.x)));
        table.add(new Bad("softplus beta 0", "beta", "must not be 0", t -> F.activation(Act.softplus(0, 20), t.x)));
        table.add(new Bad("hardtanh min > max", "minVal", "must not exceed", t -> F.activation(Act.hardtanh(1, -1), t.x)));
        table.add(new Bad("hardtanh min > max (backward)", "minVal", "must not exceed",
                t -> F.activationBackward(Act.hardtanh(1, -1), t.x, t.g7)));
        table.add(new Bad("NaN parameter", "negativeSlope", "NaN", t -> F.activation(Act.leakyRelu(Double.NaN), t.x)));
        table.add(new Bad("null act", "act", "null", t -> F.activation(null, t.x)));
        table.add(new Bad("tanh is not a gate", "act", "not a gate", t -> F.gated(Act.tanh(), t.x, t.g7)));
        table.add(new Bad("hardswish is not a gate (split)", "act", "not a gate", t -> F.gated(Act.hardswish(), t.x8)));
        table.add(new Bad("step is not a gate (backward)", "act", "not a gate", t -> F.gatedBackward(Act.step(0), t.x, t.g7, t.g7)));
        table.add(new Bad("mish is not a gate (split backward)", "act", "not a gate", t -> F.gatedBackward(Act.mish(), t.x8, t.g4)));
        // parameters by their torch names, in the words of the call made; nulls
        table.add(new Bad("F.leakyRelu with a NaN slope", "negativeSlope", "NaN", t -> F.leakyRelu(t.x, Double.NaN)));
        table.add(new Bad("F.softplus with beta 1e-60 (0 as an f32)", "beta", "must not be 0", t -> F.softplus(t.x, 1e-60, 20)));
        table.add(new Bad("F.threshold with a NaN value", "value", "NaN", t -> F.threshold(t.x, 0, Double.NaN)));
        table.add(new Bad("F.hardtanh with min > max", "minVal", "must not exceed", t -> F.hardtanh(t.x, 2, 1)));
        table.add(new Bad("F.celu with alpha 0", "alpha", "must not be 0", t -> F.celu(t.x, 0)));
        table.add(new Bad("null x", "x", "null", t -> F.relu(null)));
        table.add(new Bad("null gradOut", "gradOut", "null", t -> F.activationBackward(relu, t.x, null)));
        table.add(new Bad("null approximation", "approximate", "null", t -> F.gelu(t.x, null)));
        table.add(new Bad("null approximation (geglu)", "approximate", "null", t -> F.geglu(t.x8, null)));
        table.add(new Bad("split form of a scalar", "x", "even last dim", t -> F.swiglu(Tensor.zeros(new long[0], DType.F32, t.x.device()))));
        return table;
    }

    @TestFactory
    Stream<DynamicTest> eachRaisesNamingTheArgument() {
        return TestDevices.host().flatMap(d -> Stream.concat(
                table().stream().map(b -> dynamicTest(d + ": " + b.what(), () -> {
                    try (Scope s = Scope.open()) {
                        T t = new T(d);
                        rejects(b, () -> b.call().run(t));
                    }
                })),
                Stream.of(dynamicTest(d + ": a valid call afterwards works", () -> validCallWorks(d)))));
    }

    private static void rejects(Bad b, Executable call) {
        BadInput.assertRejects(b.what(), b.argument(), b.says(), call);
    }

    private static void validCallWorks(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {-1, 0, 2, 3}, new long[] {1, 4}, d);
            assertArrayEquals(new float[] {0, 0, 2, 3}, F.relu(x).toFloatArray());
            assertArrayEquals(new float[] {-2, 0}, F.reglu(x).toFloatArray());  // [-1, 0] * relu([2, 3])
        }
    }
}
