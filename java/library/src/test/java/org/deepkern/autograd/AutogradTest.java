package org.deepkern.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.testing.Memory;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.nn.Activation;
import org.deepkern.nn.Linear;
import org.deepkern.nn.Module;
import org.deepkern.nn.Sequential;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The tape itself: accumulation, no-grad sections, release, refusals, custom ops, checkpointing. */
class AutogradTest {
    static java.util.stream.Stream<Device> devices() {
        return TestDevices.host();
    }

    private static Tensor leaf(Device d, float... v) {
        return Tensor.of(v, new long[] {v.length}, d).requiresGrad(true);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void gradientsAccumulateUntilCleared(Device d) {
        try (Scope s = Scope.open(); Tape tape = Tape.open()) {
            Tensor x = leaf(d, 1, -2, 3);
            for (int pass = 1; pass <= 2; pass++) {
                try (Tensor y = x.mul(x); Tensor loss = y.sum()) {
                    tape.backward(loss);
                }
                assertArrayEquals(new float[] {2 * pass, -4 * pass, 6 * pass}, x.grad().toFloatArray(), "pass " + pass);
            }
            x.clearGrad();
            assertNull(x.grad());
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void nothingRecordsWithoutATapeOrInsideNoGrad(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(d, 1, 2);
            assertTrue(x.requiresGrad());
            assertFalse(Tape.isRecording());
            assertFalse(x.mul(2).requiresGrad(), "no tape open");
            try (Tape tape = Tape.open()) {
                assertTrue(Tape.isRecording());
                try (NoGrad off = Tape.noGrad()) {
                    assertFalse(Tape.isRecording());
                    assertFalse(F.gelu(x).requiresGrad(), "inside noGrad");
                    x.add_(1);  // allowed: nothing records
                }
                assertTrue(Tape.isRecording());
                assertTrue(F.gelu(x).requiresGrad());
            }
            assertFalse(Tape.isRecording());
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void backwardReleasesEverythingItSaved(Device d) {
        Tensor x = Scope.detach(Tensor.randn(new long[] {64, 32}, DType.F32, d, new Generator(5)).requiresGrad(true));
        Tensor w = Scope.detach(Tensor.randn(new long[] {48, 32}, DType.F32, d, new Generator(6)).requiresGrad(true));
        try {
            long before = Memory.settledInUse(d);
            try (Tape tape = Tape.open()) {
                try (Scope s = Scope.open()) {  // the caller drops its intermediates before backward
                    Tensor loss = F.softmax(F.gelu(F.linear(x, w))).sum();
                    tape.backward(loss);
                }
                long grads = (x.numel() + w.numel()) * 4;
                assertEquals(grads, DeepKern.memoryStats(d).inUse() - before, "after backward only the gradients stay");
                x.clearGrad();
                w.clearGrad();
                try (Scope s = Scope.open()) {
                    F.gelu(F.linear(x, w)).sum();
                }
                assertTrue(DeepKern.memoryStats(d).inUse() > before, "the tape holds the saved activations");
            }
            assertEquals(before, DeepKern.memoryStats(d).inUse(), "closing the tape frees what no backward reached");
        } finally {
            x.close();
            w.close();
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void refusesWhatItCannotDo(Device d) {
        try (Scope s = Scope.open(); Tape tape = Tape.open()) {
            Tensor x = leaf(d, 1, 2);
            var e = assertThrows(DeepKernException.class, () -> x.add_(1));
            assertTrue(e.getMessage().startsWith("Tensor.add_: argument 'this'"), e.getMessage());
            Tensor y = x.mul(3);
            e = assertThrows(DeepKernException.class, () -> tape.backward(y));
            assertTrue(e.getMessage().contains("'loss'") && e.getMessage().contains("one element"), e.getMessage());
            e = assertThrows(DeepKernException.class, () -> tape.backward(y, Tensor.ones(3)));
            assertTrue(e.getMessage().contains("'gradOutput'"), e.getMessage());
            Tensor plain = Tensor.ones(new long[] {1}, DType.F32, d);
            e = assertThrows(DeepKernException.class, () -> tape.backward(plain));
            assertTrue(e.getMessage().contains("'output'"), e.getMessage());
            Tensor into = Tensor.zeros(new long[] {2}, DType.F32, d);
            e = assertThrows(DeepKernException.class, () -> F.gelu(x, org.deepkern.ops.GeluApproximation.NONE, into));
            assertTrue(e.getMessage().startsWith("F.gelu: argument 'out'"), e.getMessage());
            e = assertThrows(DeepKernException.class, () -> y.requiresGrad(true));
            assertTrue(e.getMessage().contains("leaf"), e.getMessage());
            Tensor loss = y.sum();
            tape.backward(loss);
            e = assertThrows(DeepKernException.class, () -> tape.backward(loss), "the graph was freed");
            assertTrue(e.getMessage().contains("'output'"), e.getMessage());
            Tensor ints = Tensor.of(new int[] {1}, new long[] {1}, d);
            e = assertThrows(DeepKernException.class, () -> ints.requiresGrad(true));
            assertTrue(e.getMessage().startsWith("Tensor.requiresGrad: argument 'this'"), e.getMessage());
        }
        Tape closed = Tape.open();
        closed.close();
        try (Tensor one = Tensor.ones(1)) {
            var e = assertThrows(DeepKernException.class, () -> closed.backward(one));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void customOpsAndLeavesAsOutputs(Device d) {
        try (Scope s = Scope.open(); Tape tape = Tape.open()) {
            Tensor x = leaf(d, 1, -2, 0.5f);
            Tensor cube;
            try (NoGrad off = Tape.noGrad(); Tensor sq = x.mul(x)) {
                cube = sq.mul(x);
            }
            Tape.record("cube", new Tensor[] {x}, new Tensor[] {cube}, new Tensor[] {x}, (g, saved) -> {
                try (Tensor sq = saved[0].mul(saved[0]); Tensor three = sq.mul(3)) {
                    return new Tensor[] {three.mul(g[0])};
                }
            });
            assertTrue(cube.requiresGrad());
            tape.backward(cube.sum());
            assertArrayEquals(new float[] {3, 12, 0.75f}, x.grad().toFloatArray());
            x.clearGrad();
            Tensor seed = Tensor.of(new float[] {4, 5, 6}, new long[] {3}, d);
            tape.backward(x, seed);
            assertArrayEquals(new float[] {4, 5, 6}, x.grad().toFloatArray(), "a leaf's gradient is the seed");
            long before = Memory.settledInUse(d);
            tape.backward(x, seed);
            assertArrayEquals(new float[] {8, 10, 12}, x.grad().toFloatArray(), "and accumulates");
            assertEquals(before, DeepKern.memoryStats(d).inUse(), "the seed's copy is released once added");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void moduleParametersNeedGradientsAndKeepNeedingThem(Device d) {
        try (Linear lin = new Linear(3, 2, true, DType.F32, d, new Generator(1))) {
            for (Tensor p : lin.parameters()) assertTrue(p.requiresGrad());
            lin.to(DType.BF16);
            for (Tensor p : lin.parameters()) assertTrue(p.requiresGrad());
        }
    }

    /** A 6-layer MLP: the plain model's gradients, and those with checkpointed segments. */
    private static List<float[]> gradients(Device d, int segments, boolean noise) {
        Generator.manualSeed(9);
        Generator init = new Generator(3);
        List<Module> layers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Linear lin = new Linear(16, 16, true, DType.F32, d, init);
            layers.add(noise ? new Noisy(lin) : new Sequential(lin, new Activation(Act.gelu())));
        }
        List<float[]> out = new ArrayList<>();
        try (Scope s = Scope.open(); Tape tape = Tape.open()) {
            Tensor x = Tensor.randn(new long[] {4, 16}, DType.F32, d, new Generator(4)).requiresGrad(true);
            Tensor y = segments == 0 ? new Sequential(layers.toArray(new Module[0])).forward(x)
                    : Checkpoint.checkpointSequential(layers, segments, x);
            out.add(y.toFloatArray());
            tape.backward(y.mul(y).mean());
            out.add(x.grad().toFloatArray());
            for (Module m : layers) for (Tensor p : m.parameters()) out.add(p.grad().toFloatArray());
        } finally {
            layers.forEach(Module::close);
        }
        return out;
    }

    /** Linear, GELU, then noise from the default generator: recomputation must draw the same. */
    private static final class Noisy extends Module {
        private final Linear lin;

        Noisy(Linear lin) {
            this.lin = registerModule("lin", lin);
        }

        @Override
        public Tensor forward(Tensor input) {
            try (Tensor h = lin.forward(input); Tensor a = F.gelu(h);
                 Tensor n = Tensor.randn(a.shape(), a.dtype(), a.device(), Generator.defaultGenerator());
                 Tensor small = n.mul(0.1)) {
                return a.add(small);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void checkpointedGradientsAreBitIdentical(Device d) {
        for (boolean noise : new boolean[] {false, true}) {
            List<float[]> plain = gradients(d, 0, noise);
            for (int segments : new int[] {1, 2, 3, 6}) {
                List<float[]> ckpt = gradients(d, segments, noise);
                assertEquals(plain.size(), ckpt.size());
                for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), ckpt.get(i),
                        (i == 0 ? "output" : i == 1 ? "input gradient" : "parameter gradient " + (i - 2)) + ", " + segments
                                + " segments" + (noise ? ", with noise" : "") + " on " + d);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void checkpointingKeepsFewerActivations(Device d) {
        long[] kept = new long[2];
        for (int run = 0; run < 2; run++) {
            List<Module> layers = new ArrayList<>();
            Generator init = new Generator(3);
            for (int i = 0; i < 16; i++) layers.add(new Sequential(new Linear(64, 64, true, DType.F32, d, init),
                    new Activation(Act.gelu())));
            try (Scope s = Scope.open(); Tape tape = Tape.open()) {
                Tensor x = Tensor.randn(new long[] {32, 64}, DType.F32, d, new Generator(4)).requiresGrad(true);
                long before = Memory.settledInUse(d);
                Tensor y = run == 0 ? new Sequential(layers.toArray(new Module[0])).forward(x)
                        : Checkpoint.checkpointSequential(layers, 4, x);
                kept[run] = DeepKern.memoryStats(d).inUse() - before;
                tape.backward(y.sum());
            } finally {
                layers.forEach(Module::close);
            }
        }
        assertTrue(kept[1] * 2 < kept[0], "checkpointed " + kept[1] + " bytes vs " + kept[0] + " on " + d);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void checkpointRefusesBadArguments(Device d) {
        var e = assertThrows(DeepKernException.class, () -> Checkpoint.checkpoint(null, Tensor.ones(1)));
        assertTrue(e.getMessage().startsWith("Checkpoint.checkpoint: argument 'segment'"), e.getMessage());
        e = assertThrows(DeepKernException.class, () -> Checkpoint.checkpointSequential(List.of(new Activation(Act.relu())), 2,
                Tensor.ones(1)));
        assertTrue(e.getMessage().startsWith("Checkpoint.checkpointSequential: argument 'segments'"), e.getMessage());
        Tensor closed = Tensor.ones(1);
        closed.close();
        e = assertThrows(DeepKernException.class, () -> Checkpoint.checkpoint(in -> in[0].mul(2), closed));
        assertTrue(e.getMessage().contains("'inputs[0]'"), e.getMessage());
    }
}
