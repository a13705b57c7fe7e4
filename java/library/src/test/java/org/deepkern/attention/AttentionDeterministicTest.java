package org.deepkern.attention;

import static org.deepkern.attention.AttentionChecks.problem;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.attention.AttentionReference.Problem;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.EmuSchedules;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * DeepKern.setDeterministic: the attention backward's dQ from the per-query-tile kernel (no
 * atomics) on emu, against the double reference on every shape of AttentionTest's emu list (every
 * head dim, so the tensor-core and FMA paths, bias, padding, both causal alignments, masked rows),
 * and bit for bit the same under every emulator schedule, dQ included.
 */
class AttentionDeterministicTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        long seed = 500;
        if (DeepKern.backend(Device.Type.EMU).available())
            for (Problem p : AttentionTest.emuProblems())
                for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) out.add(Arguments.of(t, p, seed++));
        return out.stream();
    }

    static void deterministic(Runnable body) {
        DeepKern.setDeterministic(Device.EMU, true);
        try {
            body.run();
        } finally {
            DeepKern.setDeterministic(Device.EMU, false);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesTheReference(DType dtype, Problem p, long seed) {
        deterministic(() -> AttentionChecks.check(Device.EMU, dtype, p, seed, seed % 2 == 0, seed % 3 != 0, true));
    }

    @Test
    void everyGradientIsTheSameInEveryOrder() {
        EmuSchedules.assumeEmu();
        Problem p = AttentionChecks.withBias(AttentionChecks.withKeyLengths(problem(1, 4, 2, 70, 90, 64, CausalMask.BOTTOM_RIGHT),
                85), new long[] {70, 90}, 3, 0);
        deterministic(() -> {
            for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
                sameInEveryOrder("deterministic attention backward " + dtype, 4321, 3, 0f, () -> {
                    try (Scope s = Scope.open()) {
                        AttentionChecks.Inputs in = AttentionChecks.inputs(Device.EMU, dtype, p, 22, true, true);
                        AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
                        AttentionGrads g = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), r, in.gradOut(), in.params());
                        return new float[][] {g.gradQ().toFloatArray(), g.gradK().toFloatArray(), g.gradV().toFloatArray()};
                    }
                });
            }
        });
    }

    @Test
    void switchIsOffByDefaultAndRoundTrips() {
        TestDevices.host().forEach(d -> {
            assertFalse(DeepKern.deterministic(d), "deterministic is off unless asked");
            DeepKern.setDeterministic(d, true);
            try {
                assertTrue(DeepKern.deterministic(d));
            } finally {
                DeepKern.setDeterministic(d, false);
            }
            assertFalse(DeepKern.deterministic(d));
        });
        assertTrue(BadInput.assertRejects("device", "expected a device", () -> DeepKern.setDeterministic(null, true))
                .getMessage().startsWith("DeepKern.setDeterministic: "));
    }
}
