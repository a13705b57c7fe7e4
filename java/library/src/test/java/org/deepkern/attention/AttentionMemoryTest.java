package org.deepkern.attention;

import org.deepkern.Generator;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.F;
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
 * (B = 1, H = 1, D = 64, f32) on cpu raise the allocator's peak by the outputs, the
 * gradients (8 MB) and an O(L) workspace only (delta, L floats), where the scores alone would be 256 MB.
 * (The cpu backend's per-task tiles live on the heap, outside the allocator: O(tile * D) per worker.)
 */
class AttentionMemoryTest {
    @Test
    void extraMemoryIsLinearInTheSequenceLength() {
        Device cpu = Device.CPU;
        int l = 8192, d = 64;
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.randn(new long[] {1, 1, l, d}, DType.F32, cpu, new Generator(1));
            Tensor k = Tensor.randn(new long[] {1, 1, l, d}, DType.F32, cpu, new Generator(2));
            Tensor v = Tensor.randn(new long[] {1, 1, l, d}, DType.F32, cpu, new Generator(3));
            Tensor g = Tensor.randn(new long[] {1, 1, l, d}, DType.F32, cpu, new Generator(4));
            DeepKern.emptyCache(cpu);
            MemoryStats before = DeepKern.memoryStats(cpu);
            DeepKern.resetPeakMemory(cpu);
            AttentionParams p = AttentionParams.defaults();
            AttentionResult r = F.scaledDotProductAttention(q, k, v, p);
            AttentionGrads grads = F.scaledDotProductAttentionBackward(q, k, v, r, g, p);
            long extra = DeepKern.memoryStats(cpu).peakInUse() - before.inUse();
            // the outputs (out, logsumexp, three gradients) and, beyond them, workspace of a few L-float rows
            long outputs = 4L * l * d * 4 + (long) l * 4;
            long workspace = extra - outputs;
            assertTrue(workspace <= 4L * l * 4, "workspace " + workspace + " bytes beyond the outputs is more than 4 L floats");
            assertTrue(extra < (long) l * l * 4 / 16, "peak extra " + extra + " bytes is not 16x below the L^2 matrix");
            float[] out = r.out().toFloatArray(), gq = grads.gradQ().toFloatArray();
            for (int i = 0; i < out.length; i++)
                assertTrue(Float.isFinite(out[i]) && Float.isFinite(gq[i]), "finite at " + i);
        }
    }
}
