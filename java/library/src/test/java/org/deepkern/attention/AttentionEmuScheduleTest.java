package org.deepkern.attention;

import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.attention.AttentionReference.Problem;
import org.junit.jupiter.api.Test;

/**
 * The attention kernels share memory between threads (the cp.async K / V stages, the f32 forward's
 * P tiles, the backward's Q / dO / P / dS tiles): their results are bit-identical whatever order the
 * emulator runs a block's threads in between barriers, so no barrier is missing. The dQ atomics add
 * in an order that depends on the schedule, so only the forward, dK and dV are compared bit for bit
 * and dQ to rounding.
 */
class AttentionEmuScheduleTest {
    @Test
    void forwardAndBackwardKernels() {
        // two key tiles of the f16/bf16 forward (Bc = 64 at D = 32) and several of the backward, causal with padding
        Problem p = AttentionChecks.withBias(AttentionChecks.withKeyLengths(
                AttentionChecks.problem(1, 2, 1, 70, 90, 32, CausalMask.BOTTOM_RIGHT), 85), new long[] {70, 90}, 3, 0);
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            // out, logsumexp, dK, dV bit for bit; dQ to rounding
            sameInEveryOrder("attention " + dtype, 8765, 4, 1e-5f, () -> {
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

    @Test
    void splitHeadDimBackward() {
        // D = 256: the two warps of each 16 keys exchange their halves of S^T and dP^T through shared memory
        Problem p = AttentionChecks.problem(1, 2, 1, 20, 40, 256, CausalMask.TOP_LEFT);
        sameInEveryOrder("attention backward D=256", 4321, 2, 1e-5f, () -> {
            try (Scope s = Scope.open()) {
                AttentionChecks.Inputs in = AttentionChecks.inputs(Device.EMU, DType.BF16, p, 22, true, true);
                AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
                AttentionGrads g = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), r, in.gradOut(), in.params());
                return new float[][] {g.gradK().toFloatArray(), g.gradV().toFloatArray(), g.gradQ().toFloatArray()};
            }
        });
    }
}
