package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Module contract as torch's: parameter names and order, state_dict / load_state_dict (round
 * trip, strict and lenient), ownership (scopes, close, tied tensors), train/eval, and repr.
 */
class ModuleStateTest {
    private static TransformerBlock block(Device d, long seed) {
        return new TransformerBlock(64, 2, 1, 96, DType.F32, d, new Generator(seed));  // D = 32, a head dim attention takes
    }

    private static void assertNames(Module m, String... names) {
        assertEquals(List.of(names), List.copyOf(m.namedParameters().keySet()), m.toString());
        assertEquals(List.of(names), List.copyOf(m.stateDict().keySet()), m.toString());
        assertEquals(m.namedParameters().size(), m.parameters().size());
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void namedParametersAreTorchsNamesInOrder(Device d) {
        Generator g = new Generator(1);
        try (Linear lin = new Linear(4, 5, true, DType.F32, d, g); Linear noBias = new Linear(4, 5, false, DType.F32, d, g);
             LayerNorm ln = new LayerNorm(8, 1e-5, DType.F32, d);
             LayerNorm plain = new LayerNorm(8, 1e-5, false, true, DType.F32, d);
             RMSNorm rms = new RMSNorm(8, 1e-6, DType.F32, d);
             Conv2d conv = new Conv2d(4, 6, 3, 3, Conv2dParams.defaults(), true, DType.F32, d, g);
             ConvTranspose2d deconv = new ConvTranspose2d(4, 6, 3, 3, Conv2dParams.defaults(), false, DType.F32, d, g);
             MultiHeadAttention mha = new MultiHeadAttention(32, 4, 2, true, null, false, DType.F32, d, g);
             SwiGluMlp mlp = new SwiGluMlp(16, 24, false, DType.F32, d, g);
             Sequential seq = new Sequential(new Linear(4, 8, true, DType.F32, d, g), new Activation(Act.gelu()),
                     new Linear(8, 2, false, DType.F32, d, g));
             TransformerBlock block = block(d, 2)) {
            assertNames(lin, "weight", "bias");
            assertArrayEquals(new long[] {5, 4}, lin.weight().shape());
            assertNames(noBias, "weight");
            assertNames(ln, "weight", "bias");
            assertNames(plain);
            assertNames(rms, "weight");
            assertNames(conv, "weight", "bias");
            assertArrayEquals(new long[] {6, 4, 3, 3}, conv.weight().shape());
            assertNames(deconv, "weight");
            assertArrayEquals(new long[] {4, 6, 3, 3}, deconv.weight().shape());
            assertNames(mha, "qkv.weight", "qkv.bias", "proj.weight", "proj.bias");
            assertArrayEquals(new long[] {(4 + 2 * 2) * 8, 32}, mha.qkv().weight().shape());
            assertEquals(8, mha.headDim());
            assertNames(mlp, "gate.weight", "up.weight", "down.weight");
            assertNames(new Activation(Act.relu()));
            assertNames(seq, "0.weight", "0.bias", "2.weight");
            assertNames(block, "norm1.weight", "attention.qkv.weight", "attention.proj.weight", "norm2.weight",
                    "mlp.gate.weight", "mlp.up.weight", "mlp.down.weight");
            assertEquals(List.of("norm1", "attention", "norm2", "mlp"), List.copyOf(block.namedChildren().keySet()));
            assertSame(block.namedChildren().get("attention"), block.children().get(1));
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void stateDictRoundTripGivesTheSameForwardBitForBit(Device d) {
        try (TransformerBlock a = block(d, 11); TransformerBlock b = block(d, 12); Scope s = Scope.open()) {
            Tensor x = Tensor.randn(new long[] {2, 5, 64}, DType.F32, d, new Generator(13));
            float[] want = a.forward(x).toFloatArray();
            assertFalse(java.util.Arrays.equals(want, b.forward(x).toFloatArray()), "different seeds, same block");
            Module.IncompatibleKeys keys = b.loadStateDict(a.stateDict());
            assertEquals(List.of(), keys.missingKeys());
            assertEquals(List.of(), keys.unexpectedKeys());
            assertArrayEquals(want, b.forward(x).toFloatArray());
            a.stateDict().forEach((k, t) -> assertNotSame(t, b.stateDict().get(k), k + " copied, not shared"));
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void strictLoadNamesEveryBadKeyAndChangesNothing(Device d) {
        try (Linear lin = new Linear(4, 5, true, DType.F32, d, new Generator(3)); Scope s = Scope.open()) {
            float[] before = lin.weight().toFloatArray();
            Tensor w = Tensor.zeros(new long[] {5, 4}, DType.F32, d), b = Tensor.zeros(new long[] {5}, DType.F32, d);
            assertLoadFails(lin, Map.of("weight", w), "missing key 'bias': expected shape [5] f32, got none");
            assertLoadFails(lin, state("weight", w, "bias", b, "scale", b), "unexpected key 'scale': expected none, got shape [5] f32");
            assertLoadFails(lin, state("weight", Tensor.zeros(new long[] {4, 5}, DType.F32, d), "bias", b),
                    "key 'weight': expected shape [5, 4], got [4, 5]");
            assertLoadFails(lin, state("weight", w.to(DType.BF16), "bias", b), "key 'weight': expected dtype f32, got bf16");
            assertArrayEquals(before, lin.weight().toFloatArray(), "a failed load changed the weight");
            // lenient: keys may be missing or unexpected and the dtype converts, but a shape must still match
            Module.IncompatibleKeys keys = lin.loadStateDict(state("weight", Tensor.ones(new long[] {5, 4}, DType.BF16, d),
                    "scale", b), false);
            assertEquals(List.of("bias"), keys.missingKeys());
            assertEquals(List.of("scale"), keys.unexpectedKeys());
            assertArrayEquals(new float[20], lin.weight().add(-1).toFloatArray());
            var e = assertThrows(DeepKernException.class, () -> lin.loadStateDict(Map.of("bias", w), false));
            assertTrue(e.getMessage().contains("key 'bias': expected shape [5], got [5, 4]"), e.getMessage());
        }
    }

    private static Map<String, Tensor> state(Object... keysAndTensors) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndTensors.length; i += 2) m.put((String) keysAndTensors[i], (Tensor) keysAndTensors[i + 1]);
        return m;
    }

    private static void assertLoadFails(Module m, Map<String, Tensor> state, String problem) {
        var e = assertThrows(DeepKernException.class, () -> m.loadStateDict(state));
        assertTrue(e.getMessage().startsWith("Module.loadStateDict: "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void toDeviceAndDtypeReplaceAndCloseTheParameters(Device d) {
        Device other = d.equals(Device.CPU) ? Device.EMU : Device.CPU;
        org.junit.jupiter.api.Assumptions.assumeTrue(org.deepkern.DeepKern.devices().contains(other), "needs cpu and emu");
        try (TransformerBlock m = block(d, 5)) {
            Map<String, Tensor> old = m.stateDict();
            Map<String, float[]> values = new LinkedHashMap<>();
            old.forEach((k, t) -> values.put(k, t.toFloatArray()));
            assertSame(m, m.to(other));
            m.stateDict().forEach((k, t) -> {
                assertEquals(other, t.device(), k);
                assertArrayEquals(values.get(k), t.toFloatArray(), k);
                assertTrue(old.get(k).isClosed(), k + " left open");
            });
            Map<String, Tensor> onOther = m.stateDict();
            m.to(DType.BF16);
            m.stateDict().forEach((k, t) -> {
                assertEquals(DType.BF16, t.dtype(), k);
                assertTrue(onOther.get(k).isClosed(), k + " left open");
                try (Tensor f = Tensor.of(values.get(k), t.shape(), other); Tensor rounded = f.to(DType.BF16)) {
                    assertArrayEquals(rounded.toFloatArray(), t.toFloatArray(), k);
                }
            });
            try (Tensor x = Tensor.randn(new long[] {1, 3, 64}, DType.BF16, other, new Generator(6)); Tensor y = m.forward(x)) {
                assertEquals(DType.BF16, y.dtype());
            }
            var e = assertThrows(DeepKernException.class, () -> m.to(DType.I32));
            assertTrue(e.getMessage().contains("floating"), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void parametersOutliveTheCallersScopeAndCloseWithTheModule(Device d) {
        Linear lin;
        try (Scope outer = Scope.open(); Scope inner = Scope.open()) {
            lin = new Linear(3, 2, true, DType.F32, d, new Generator(1));
            lin.to(DType.BF16);
        }
        assertFalse(lin.weight().isClosed(), "the scope closed a parameter");
        List<Tensor> params = lin.parameters();
        lin.close();
        params.forEach(t -> assertTrue(t.isClosed()));
        lin.close();  // twice is harmless
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void aSharedModuleIsListedOnceAndStaysShared(Device d) {
        Linear shared = new Linear(4, 4, true, DType.F32, d, new Generator(2));
        try (Sequential seq = new Sequential(shared, new Activation(Act.relu()), shared)) {
            assertEquals(List.of("0.weight", "0.bias"), List.copyOf(seq.namedParameters().keySet()));
            // state_dict lists a shared tensor under each of its names, as torch's does
            assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(seq.stateDict().keySet()));
            seq.to(DType.BF16);
            assertEquals(DType.BF16, shared.weight().dtype());
            assertSame(seq.stateDict().get("0.weight"), seq.stateDict().get("2.weight"));
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void trainAndEvalReachEverySubmodule(Device d) {
        try (TransformerBlock m = block(d, 7)) {
            assertTrue(m.isTraining());
            assertSame(m, m.eval());
            assertFalse(m.isTraining());
            assertFalse(m.namedChildren().get("attention").children().get(0).isTraining());
            assertFalse(m.children().get(3).children().get(2).isTraining());
            m.train();
            assertTrue(m.children().get(1).children().get(1).isTraining());
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void reprNestsTheChildrenAsTorchDoes(Device d) {
        try (SwiGluMlp mlp = new SwiGluMlp(4, 6, true, DType.F32, d, new Generator(1))) {
            assertEquals("""
                    SwiGluMlp(
                      (gate): Linear(in_features=4, out_features=6, bias=true)
                      (up): Linear(in_features=4, out_features=6, bias=true)
                      (down): Linear(in_features=6, out_features=4, bias=true)
                    )""", mlp.toString());
            assertEquals("Sequential(\n  (0): Sequential()\n  (1): Activation(relu)\n)",
                    new Sequential(new Sequential(), new Activation(Act.relu())).toString());
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void badSizesNameTheArgument(Device d) {
        Generator g = new Generator(1);
        assertBad("inFeatures", () -> new Linear(-1, 3, true, DType.F32, d, g));
        assertBad("features", () -> new LayerNorm(-4, 1e-5, DType.F32, d));
        assertBad("groups", () -> new Conv2d(6, 4, 3, 3, Conv2dParams.defaults().withGroups(4), true, DType.F32, d, g));
        assertBad("kernelSize", () -> new Conv2d(6, 4, 0, 3, Conv2dParams.defaults(), true, DType.F32, d, g));
        assertBad("heads", () -> new MultiHeadAttention(30, 4, 2, true, null, false, DType.F32, d, g));
        assertBad("kvHeads", () -> new MultiHeadAttention(32, 4, 3, true, null, false, DType.F32, d, g));
    }

    private static void assertBad(String argument, org.junit.jupiter.api.function.Executable make) {
        var e = assertThrows(DeepKernException.class, make);
        assertTrue(e.getMessage().contains("'" + argument + "'"), e.getMessage());
    }
}
