package org.deepkern.attention;

import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import static org.deepkern.attention.AttentionChecks.problem;
import static org.deepkern.attention.AttentionChecks.withBias;
import static org.deepkern.attention.AttentionChecks.withKeyLengths;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.attention.AttentionReference.Problem;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Attention checks on every cuda device (skipped where there is none): the odd-size table
 * against the double reference, and long sequences (many key tiles through the cp.async pipeline,
 * many query tiles adding into dQ) against the cpu backend, which AttentionTest checks against the
 * reference.
 */
@Tag("gpu")
class AttentionGpuTest {
    @Test
    void matchesTheReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        long seed = 900;
        for (Device d : TestDevices.cuda())
            for (Problem p : AttentionTest.cpuProblems())
                for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16})
                    AttentionChecks.check(d, t, p, seed++, seed % 2 == 0, seed % 3 != 0, true);
    }

    @Test
    void deterministicBackwardMatchesTheReferenceOnCuda() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        long seed = 1900;
        for (Device d : TestDevices.cuda()) {
            DeepKern.setDeterministic(d, true);
            try {
                for (Problem p : AttentionTest.cpuProblems())
                    for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16})
                        AttentionChecks.check(d, t, p, seed++, seed % 2 == 0, seed % 3 != 0, true);
            } finally {
                DeepKern.setDeterministic(d, false);
            }
        }
    }

    @Test
    void longSequencesMatchTheCpuBackend() {
        assumeFalse(TestDevices.cuda().isEmpty(), "no CUDA device");
        Problem[] problems = {
                problem(2, 8, 2, 1000, 1000, 128, CausalMask.TOP_LEFT),
                withKeyLengths(problem(1, 4, 1, 77, 2049, 64, CausalMask.BOTTOM_RIGHT), 1500),
                withBias(problem(1, 2, 2, 513, 700, 256, CausalMask.NONE), new long[] {1, 2, 513, 700}, 3, 0),
                problem(1, 4, 4, 300, 300, 96, CausalMask.NONE),
                problem(1, 8, 8, 260, 260, 32, CausalMask.TOP_LEFT)};
        long seed = 950;
        for (Device d : TestDevices.cuda())
            for (Problem p : problems)
                for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) compareWithCpu(d, t, p, seed++);
    }

    private static void compareWithCpu(Device device, DType dtype, Problem p, long seed) {
        String what = p + " " + dtype + " on " + device + " vs cpu";
        try (Scope s = Scope.open()) {
            AttentionChecks.Inputs gpu = AttentionChecks.inputs(device, dtype, p, seed, true, true);
            AttentionChecks.Inputs cpu = AttentionChecks.inputs(Device.CPU, dtype, p, seed, true, true);
            AttentionResult rg = F.scaledDotProductAttention(gpu.q(), gpu.k(), gpu.v(), gpu.params());
            AttentionResult rc = F.scaledDotProductAttention(cpu.q(), cpu.k(), cpu.v(), cpu.params());
            AttentionGrads gg = F.scaledDotProductAttentionBackward(gpu.q(), gpu.k(), gpu.v(), rg, gpu.gradOut(), gpu.params());
            AttentionGrads gc = F.scaledDotProductAttentionBackward(cpu.q(), cpu.k(), cpu.v(), rc, cpu.gradOut(), cpu.params());
            double tol = 2 * AttentionChecks.tol(dtype);
            compare(rc.out(), rg.out(), tol, what + " out");
            compare(rc.logsumexp(), rg.logsumexp(), 1e-4, what + " logsumexp");
            compare(gc.gradQ(), gg.gradQ(), 2 * tol, what + " gradQ");
            compare(gc.gradK(), gg.gradK(), 2 * tol, what + " gradK");
            compare(gc.gradV(), gg.gradV(), 2 * tol, what + " gradV");
        }
    }

    private static void compare(Tensor expected, Tensor got, double tol, String what) {
        float[] e = expected.toFloatArray();
        double[] ref = new double[e.length];
        double max = 0;
        for (int i = 0; i < e.length; i++) {
            ref[i] = e[i];
            if (Double.isFinite(ref[i])) max = Math.max(max, Math.abs(ref[i]));
        }
        Close.assertClose(ref, got.toFloatArray(), tol, tol * Math.max(max, 1e-2), what);
    }
}
