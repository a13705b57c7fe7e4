package org.deepkern.attention;

import static org.deepkern.attention.AttentionChecks.problem;
import static org.deepkern.attention.AttentionChecks.tol;
import static org.deepkern.attention.AttentionChecks.withBias;
import static org.deepkern.attention.AttentionChecks.withKeyLengths;
import static org.deepkern.testing.EmuSchedules.sameInEveryOrder;
import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Emulator;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import org.deepkern.testing.EmulatedHopper;
import org.deepkern.attention.AttentionReference.Problem;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import org.deepkern.testing.Close;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Hopper attention forward (kernels/attention/attention_sm90.cuh: a TMA producer, two wgmma
 * consumer warpgroups taking turns, S and P in registers) on the emulator standing for an sm_90,
 * against the double reference: every head dim it takes (64, 128, 256: 128 and 64 keys per tile),
 * both causal alignments, padding (a key length of 0 too), GQA, a bias, rows fully masked, more
 * query and key tiles than one, views of a fused QKV projection; bit-identical under every thread
 * order; head dims it does not take still on the Ampere kernel.
 */
@ExtendWith(EmulatedHopper.class)
class AttentionHopperEmuTest {
    private static final CausalMask NONE = CausalMask.NONE, TL = CausalMask.TOP_LEFT, BR = CausalMask.BOTTOM_RIGHT;
    static List<Problem> problems() {
        return List.of(
                problem(1, 2, 1, 150, 300, 64, NONE),                          // 2 query tiles, 3 key tiles, GQA 2:1
                problem(1, 1, 1, 256, 256, 64, TL),                            // interior tiles, then the diagonal
                withKeyLengths(problem(2, 2, 2, 130, 200, 128, BR), 200, 77),  // padding with the bottom-right diagonal
                withBias(problem(1, 2, 1, 70, 150, 256, TL), new long[] {70, 150}, 13, 5),  // 64-key tiles, bias with -inf
                problem(1, 1, 1, 17, 8, 64, BR),                               // the first rows see no key
                withKeyLengths(problem(2, 1, 1, 9, 12, 128, NONE), 0, 12),     // a sequence with no key: no tile at all
                problem(1, 2, 2, 20, 30, 96, TL));                             // D = 96: the Ampere kernel
    }

    @ParameterizedTest
    @MethodSource("problems")
    void matchesTheReference(Problem p) {
        for (DType dtype : new DType[] {DType.BF16, DType.F16}) AttentionChecks.check(Device.EMU, dtype, p, 31, true, false, false);
    }

    @Test
    void bitIdenticalInEveryOrder() {
        Problem p = withKeyLengths(problem(2, 2, 1, 140, 270, 64, BR), 270, 150);
        sameInEveryOrder("sm_90 attention", 77, 2, 0, () -> {
            try (Scope s = Scope.open()) {
                AttentionChecks.Inputs in = AttentionChecks.inputs(Device.EMU, DType.BF16, p, 32, true, true);
                AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
                return new float[][] {r.out().toFloatArray(), r.logsumexp().toFloatArray()};
            }
        });
    }

    /** q, k, v as views of one [B, L, Hq + 2 Hkv, D] projection: TMA reads them through their strides. */
    @Test
    void fusedQkvViews() {
        Device emu = Device.EMU;
        int b = 2, l = 140, hq = 4, hkv = 2, d = 128;
        try (Scope s = Scope.open()) {
            Tensor qkv = AttentionChecks.rounded(emu, DType.BF16, normal(b * l * (hq + 2 * hkv) * d, 9, 0, 1), b, l,
                    hq + 2 * hkv, d);
            Tensor q = qkv.narrow(2, 0, hq).permute(0, 2, 1, 3);
            Tensor k = qkv.narrow(2, hq, hkv).permute(0, 2, 1, 3);
            Tensor v = qkv.narrow(2, hq + hkv, hkv).permute(0, 2, 1, 3);
            Problem p = problem(b, hq, hkv, l, l, d, TL);
            AttentionReference.Forward ref = AttentionReference.forward(p, q.toFloatArray(), k.toFloatArray(), v.toFloatArray());
            AttentionResult r = F.scaledDotProductAttention(q, k, v, AttentionParams.defaults().withCausal(TL));
            double t = tol(DType.BF16);
            Close.assertClose(ref.out(), r.out().toFloatArray(), t, t * AttentionReference.maxAbs(ref.out()), "QKV views out");
            Close.assertClose(ref.lse(), r.logsumexp().toFloatArray(), 1e-4, 1e-4, "QKV views logsumexp");
        }
    }

    /** Chosen by compute capability: an sm_90 cut to sm_86's shared memory refuses its launch. */
    @Test
    void theHopperKernelIsChosenOnSm90() {
        Problem p = problem(1, 1, 1, 16, 16, 128, NONE);
        Emulator.Options hopper = Emulator.options();
        Emulator.setOptions(new Emulator.Options(hopper.schedule(), hopper.scheduleSeed(), Emulator.SHARED_LIMIT_SM86,
                hopper.threads(), 90));
        try (Scope s = Scope.open()) {
            AttentionChecks.Inputs in = AttentionChecks.inputs(Device.EMU, DType.BF16, p, 33, true, false);
            DeepKernException e = assertThrows(DeepKernException.class,
                    () -> F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params()));
            assertEquals(Status.KERNEL, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("'attention_forward_sm90'") && e.getMessage().contains("shared memory"),
                    e.getMessage());
        }
    }
}
