package org.deepkern.activation;

import org.deepkern.testing.ActivationCase;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import static org.deepkern.testing.ActivationChecks.BIG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every activation and gated unit, forward and backward, every dtype, on cpu and emu. */
class ActivationTest {
    /**
     * The size 2^20 + 3 runs every activation on cpu in f32 and, to keep emu (which runs the CUDA
     * kernels thread by thread) and the f16/bf16 conversions affordable, these representatives
     * elsewhere: a kink, a piecewise polynomial, a parameterized threshold, a transcendental. GELU at
     * that size is in GeluTest.
     */
    static final Set<String> REPRESENTATIVE = Set.of("relu", "hardswish", "softplus(2.0,10.0)", "mish");
    static final Set<String> REPRESENTATIVE_GATES = Set.of("sigmoid", "silu");

    private static boolean runs(Device d, DType t, ActivationCase c, long n, Set<String> representative) {
        return n != BIG || representative.contains(c.name())
                || (d.type() == Device.Type.CPU && t == DType.F32 && representative == REPRESENTATIVE);
    }

    private static Stream<Arguments> matrix(List<ActivationCase> cases, Set<String> representative) {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : ActivationChecks.DTYPES)
                for (ActivationCase c : cases)
                    for (long n : ActivationChecks.SIZES)
                        if (runs(d, t, c, n, representative)) out.add(Arguments.of(d, t, c, n));
        });
        return out.stream();
    }

    static Stream<Arguments> activations() {
        return matrix(ActivationCase.ALL, REPRESENTATIVE);
    }

    static Stream<Arguments> gates() {
        return matrix(ActivationCase.gates(), REPRESENTATIVE_GATES);
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3}")
    @MethodSource("activations")
    void forward(Device device, DType dtype, ActivationCase c, long n) {
        ActivationChecks.forward(device, dtype, c, n);
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3}")
    @MethodSource("activations")
    void backward(Device device, DType dtype, ActivationCase c, long n) {
        ActivationChecks.backward(device, dtype, c, n);
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3}")
    @MethodSource("activations")
    void withBias(Device device, DType dtype, ActivationCase c, long n) {
        ActivationChecks.withBias(device, dtype, c, n);
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3}")
    @MethodSource("gates")
    void gated(Device device, DType dtype, ActivationCase c, long n) {
        ActivationChecks.gated(device, dtype, c, n);
    }

    /** The backward checks rely on the allocator handing a just-freed block back first. */
    @Test
    void poisonedBlocksAreReusedByTheNextAllocation() {
        TestDevices.host().forEach(d -> {
            ActivationChecks.poisonNextAllocations(DType.BF16, d, new long[] {241, 17});
            try (Tensor t = Tensor.empty(new long[] {241, 17}, DType.BF16, d)) {
                for (float v : t.toFloatArray()) org.junit.jupiter.api.Assertions.assertTrue(Float.isNaN(v), d.toString());
            }
        });
    }

    @Test
    void inPlace() {
        TestDevices.host().forEach(d -> {
            for (ActivationCase c : ActivationCase.ALL) {
                float[] data = c.inputs(1000, 3, DType.F32);
                try (Tensor x = Tensor.of(data, new long[0], d); Tensor expected = F.activation(c.act(), x)) {
                    F.activation(c.act(), x, null, x);
                    assertArrayEquals(expected.toFloatArray(), x.toFloatArray(), c + " on " + d);
                }
            }
        });
    }

    private static Map.Entry<Act, UnaryOperator<Tensor>> named(Act act, UnaryOperator<Tensor> f) {
        return Map.entry(act, f);
    }

    /** The named functions of F are the activations they name, with the same parameters. */
    @Test
    void namedFunctions() {
        List<Map.Entry<Act, UnaryOperator<Tensor>>> named = List.of(
                named(Act.threshold(0.5, -2), x -> F.threshold(x, 0.5, -2)),
                named(Act.step(0.25), x -> F.step(x, 0.25)),
                named(Act.relu(), F::relu),
                named(Act.leakyRelu(0.01), x -> F.leakyRelu(x, 0.01)),
                named(Act.elu(1.0), x -> F.elu(x, 1.0)),
                named(Act.selu(), F::selu),
                named(Act.celu(0.75), x -> F.celu(x, 0.75)),
                named(Act.sigmoid(), F::sigmoid),
                named(Act.tanh(), F::tanh),
                named(Act.hardtanh(-0.5, 2), x -> F.hardtanh(x, -0.5, 2)),
                named(Act.hardsigmoid(), F::hardsigmoid),
                named(Act.hardswish(), F::hardswish),
                named(Act.softplus(2, 10), x -> F.softplus(x, 2, 10)),
                named(Act.silu(), F::silu),
                named(Act.mish(), F::mish),
                named(Act.gelu(), F::gelu),
                named(Act.quickGelu(), F::quickGelu),
                named(Act.gelu(GeluApproximation.TANH), x -> F.gelu(x, GeluApproximation.TANH)));
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(ActivationCase.named("hardswish").inputs(4097, 9, DType.F32), new long[] {241, 17}, Device.CPU);
            for (var e : named)
                assertArrayEquals(F.activation(e.getKey(), x).toFloatArray(), e.getValue().apply(x).toFloatArray(),
                        e.getKey().toString());
            Tensor gate = Tensor.of(ActivationCase.normal(4097, 1), new long[] {241, 17}, Device.CPU);
            Tensor up = Tensor.of(ActivationCase.normal(4097, 2), new long[] {241, 17}, Device.CPU);
            Tensor both = Tensor.of(ActivationCase.normal(2 * 4097, 3), new long[] {241, 34}, Device.CPU);
            assertArrayEquals(F.gated(Act.sigmoid(), gate, up).toFloatArray(), F.glu(gate, up).toFloatArray());
            assertArrayEquals(F.gated(Act.silu(), gate, up).toFloatArray(), F.swiglu(gate, up).toFloatArray());
            assertArrayEquals(F.gated(Act.relu(), gate, up).toFloatArray(), F.reglu(gate, up).toFloatArray());
            assertArrayEquals(F.gated(Act.gelu(GeluApproximation.TANH), gate, up).toFloatArray(),
                    F.geglu(gate, up, GeluApproximation.TANH).toFloatArray());
            assertArrayEquals(F.gated(Act.sigmoid(), both).toFloatArray(), F.glu(both).toFloatArray());
            assertArrayEquals(F.gated(Act.silu(), both).toFloatArray(), F.swiglu(both).toFloatArray());
            assertArrayEquals(F.gated(Act.relu(), both).toFloatArray(), F.reglu(both).toFloatArray());
            assertArrayEquals(F.gated(Act.gelu(), both).toFloatArray(), F.geglu(both, GeluApproximation.NONE).toFloatArray());
        }
    }
}
