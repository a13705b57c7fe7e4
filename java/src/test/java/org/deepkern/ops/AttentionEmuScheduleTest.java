package org.deepkern.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.function.Supplier;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Emulator.Schedule;
import org.deepkern.Scope;
import org.deepkern.ops.AttentionReference.Problem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The attention kernels share memory between threads (the cp.async K / V stages, the f32 forward's
 * P tiles, the backward's Q / dO / P / dS tiles): their results are bit-identical whatever order the
 * emulator runs a block's threads in between barriers, so no barrier is missing. The dQ atomics add
 * in an order that depends on the schedule, so only the forward, dK and dV are compared bit for bit
 * and dQ to rounding.
 */
class AttentionEmuScheduleTest {
    private Emulator.Options defaults;

    @BeforeEach
    void requireEmu() {
        assumeTrue(DeepKern.backend(Device.Type.EMU).available(), "emu not built");
        defaults = Emulator.options();
    }

    @AfterEach
    void restore() {
        if (defaults != null) Emulator.setOptions(defaults);
    }

    private void inEveryOrder(String what, Supplier<float[][]> test) {
        float[][] first = null;
        for (Schedule s : Schedule.values()) {
            Emulator.setOptions(defaults.withSchedule(s, 8765));
            float[][] out = test.get();
            if (first == null) {
                first = out;
                continue;
            }
            for (int i = 0; i < out.length - 1; i++)
                assertArrayEquals(first[i], out[i], what + ": schedule " + s + " changed output " + i);
            assertArrayEquals(first[out.length - 1], out[out.length - 1], 1e-5f, what + ": schedule " + s + " changed dQ");
        }
    }

    @Test
    void forwardAndBackwardKernels() {
        // two key tiles of the f16/bf16 forward (Bc = 64 at D = 32) and several of the backward, causal with padding
        Problem p = AttentionChecks.withBias(AttentionChecks.withKeyLengths(
                AttentionChecks.problem(1, 2, 1, 70, 90, 32, CausalMask.BOTTOM_RIGHT), 85), new long[] {70, 90}, 3, 0);
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            inEveryOrder("attention " + dtype, () -> {
                try (Scope s = Scope.open()) {
                    AttentionChecks.Inputs in = AttentionChecks.inputs(Device.EMU, dtype, p, 21, true, true);
                    AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
                    AttentionGrads g = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), r, in.gradOut(), in.params());
                    return new float[][] {r.out().toFloatArray(), r.logsumexp().toFloatArray(), g.gradK().toFloatArray(),
                            g.gradV().toFloatArray(), g.gradQ().toFloatArray()};
                }
            });
        }
    }
}
