package org.deepkern.ops;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.MemoryStats;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Attention never materializes the Lq x Lk score matrix: forward plus backward at Lq = Lk = 8192
 * (B = 1, H = 1, D = 64, f32, causal) on cpu raise the allocator's peak by the outputs, the
 * gradients and the O(L) workspace only - a few MB, where the scores alone would be 256 MB.
 * (The cpu backend's per-task tiles live on the heap, outside the allocator: O(tile * D) per worker.)
 */
class AttentionMemoryTest {
    @Test
    void extraMemoryIsLinearInTheSequenceLength() {
        Device cpu = Device.CPU;
        int l = 8192, d = 64;
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.randn(cpu, DType.F32, 1, 1, 1, l, d);
            Tensor k = Tensor.randn(cpu, DType.F32, 2, 1, 1, l, d);
            Tensor v = Tensor.randn(cpu, DType.F32, 3, 1, 1, l, d);
            Tensor g = Tensor.randn(cpu, DType.F32, 4, 1, 1, l, d);
            DeepKern.emptyCache(cpu);
            MemoryStats before = DeepKern.memoryStats(cpu);
            DeepKern.resetPeakMemory(cpu);
            AttentionParams p = AttentionParams.defaults().withCausal(CausalMask.TOP_LEFT);
            AttentionResult r = F.scaledDotProductAttention(q, k, v, p);
            AttentionGrads grads = F.scaledDotProductAttentionBackward(q, k, v, r, g, p);
            long extra = DeepKern.memoryStats(cpu).peakInUse() - before.inUse();
            long rowBytes = (long) l * d * 4;
            // out, 3 gradients (4 x L x D f32) + logsumexp and delta (2 x L f32), with allocator rounding
            long bound = 5 * rowBytes + 4L * l * 4 + (1 << 20);
            assertTrue(extra <= bound, "peak extra " + extra + " bytes > " + bound);
            assertTrue(extra < (long) l * l * 4 / 32, "peak extra " + extra + " bytes is not far below the L^2 matrix");
            float[] out = r.out().toFloatArray(), gq = grads.gradQ().toFloatArray();
            for (int i = 0; i < out.length; i++)
                assertTrue(Float.isFinite(out[i]) && Float.isFinite(gq[i]), "finite at " + i);
        }
    }
}
