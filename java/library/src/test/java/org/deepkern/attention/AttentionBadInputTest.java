package org.deepkern.attention;

import org.deepkern.testing.Memory;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.F;
import static org.deepkern.testing.NativeHandles.context;
import static org.deepkern.testing.NativeHandles.handle;
import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad calls of scaled dot-product attention: each raises DeepKernException naming the argument
 * and saying what was expected; the JVM lives on and nothing leaks.
 */
class AttentionBadInputTest {
    static Scope scope;
    static Tensor q, k, v, kD64, kB2, kH3, q264, qI32, kI32, qF16, q3, kl, klI32Long, klF32, klLen3, bias, biasBad, biasF16,
            bias5, grad, gradShort, lse, lseF16, lseLong, outF16, kEmu;
    static AttentionResult fwd;

    @BeforeAll
    static void make() {
        scope = Scope.open();
        Device cpu = Device.CPU;
        q = Tensor.zeros(new long[] {2, 4, 5, 32}, DType.F32, cpu);
        k = Tensor.zeros(new long[] {2, 2, 7, 32}, DType.F32, cpu);
        v = Tensor.zeros(new long[] {2, 2, 7, 32}, DType.F32, cpu);
        kD64 = Tensor.zeros(new long[] {2, 2, 7, 64}, DType.F32, cpu);
        kB2 = Tensor.zeros(new long[] {1, 2, 7, 32}, DType.F32, cpu);
        kH3 = Tensor.zeros(new long[] {2, 3, 7, 32}, DType.F32, cpu);
        q264 = Tensor.zeros(new long[] {2, 4, 5, 264}, DType.F32, cpu);
        qI32 = Tensor.zeros(new long[] {2, 4, 5, 32}, DType.I32, cpu);
        kI32 = Tensor.zeros(new long[] {2, 2, 7, 32}, DType.I32, cpu);
        qF16 = Tensor.zeros(new long[] {2, 4, 5, 32}, DType.F16, cpu);
        q3 = Tensor.zeros(new long[] {4, 5, 32}, DType.F32, cpu);
        kl = Tensor.of(new long[] {7, 3}, new long[] {2}, cpu);
        klI32Long = Tensor.of(new int[] {7, 3, 1}, new long[] {3}, cpu);
        klF32 = Tensor.zeros(new long[] {2}, DType.F32, cpu);
        klLen3 = Tensor.of(new long[] {7, 3, 1}, new long[] {3}, cpu);
        bias = Tensor.zeros(new long[] {4, 1, 7}, DType.F32, cpu);
        biasBad = Tensor.zeros(new long[] {3, 5, 7}, DType.F32, cpu);
        biasF16 = Tensor.zeros(new long[] {5, 7}, DType.F16, cpu);
        bias5 = Tensor.zeros(new long[] {1, 2, 4, 5, 7}, DType.F32, cpu);
        grad = Tensor.zeros(new long[] {2, 4, 5, 32}, DType.F32, cpu);
        gradShort = Tensor.zeros(new long[] {2, 4, 4, 32}, DType.F32, cpu);
        lse = Tensor.zeros(new long[] {2, 4, 5}, DType.F32, cpu);
        lseF16 = Tensor.zeros(new long[] {2, 4, 5}, DType.F16, cpu);
        lseLong = Tensor.zeros(new long[] {2, 4, 6}, DType.F32, cpu);
        outF16 = Tensor.zeros(new long[] {2, 4, 5, 32}, DType.F16, cpu);
        kEmu = DeepKern.backend(Device.Type.EMU).available() ? Tensor.zeros(new long[] {2, 2, 7, 32}, DType.F32, Device.EMU) : null;
        fwd = new AttentionResult(Tensor.zeros(new long[] {2, 4, 5, 32}, DType.F32, cpu), lse);
    }

    @AfterAll
    static void release() {
        scope.close();
    }

    private static AttentionParams p() {
        return AttentionParams.defaults();
    }

    private static Executable fwd(Tensor q, Tensor k, Tensor v, AttentionParams p) {
        return () -> F.scaledDotProductAttention(q, k, v, p).close();
    }

    private static Executable bwd(AttentionResult r, Tensor g, AttentionParams p) {
        return () -> F.scaledDotProductAttentionBackward(q, k, v, r, g, p).close();
    }

    static Stream<Arguments> table() {
        List<Object[]> rows = new java.util.ArrayList<>(List.of(
                new Object[] {"head dims differ", "k", "expected head dim 32", fwd(q, kD64, kD64, p())},
                new Object[] {"Hq not a multiple of Hkv", "k", "dividing the 4 query heads", fwd(q, kH3, kH3, p())},
                new Object[] {"batch differs", "k", "expected batch 2", fwd(q, kB2, kB2, p())},
                new Object[] {"v shaped unlike k", "v", "expected head dim 32 (the last dim of 'q')", fwd(q, k, kD64, p())},
                new Object[] {"head dim past 256", "q", "with 1 <= D <= 256", fwd(q264, k, v, p())},
                new Object[] {"integer q", "q", "floating dtype", fwd(qI32, k, v, p())},
                new Object[] {"integer k", "k", "floating dtype", fwd(q, kI32, kI32, p())},
                new Object[] {"q and k dtypes differ", "k", "expected dtype f16", fwd(qF16, k, v, p())},
                new Object[] {"q of rank 3, k of rank 4", "k", "expected 3 dims as 'q'", fwd(q3, k, v, p())},
                new Object[] {"null q", "q", "null", fwd(null, k, v, p())},
                new Object[] {"null params", "params", "null", fwd(q, k, v, null)},
                new Object[] {"infinite scale", "params.scale", "finite", fwd(q, k, v, p().withScale(Double.POSITIVE_INFINITY))},
                new Object[] {"scale 1e300 (infinite in f32)", "params.scale", "finite in f32", fwd(q, k, v, p().withScale(-1e300))},
                new Object[] {"null causal mask", "params.causal", "null", fwd(q, k, v, p().withCausal(null))},
                new Object[] {"null v", "v", "null", fwd(q, k, null, p())},
                new Object[] {"key lengths of f32", "keyLengths", "i32 or i64", fwd(q, k, v, p().withKeyLengths(klF32))},
                new Object[] {"key lengths too long", "keyLengths", "expected shape [2]", fwd(q, k, v, p().withKeyLengths(klLen3))},
                new Object[] {"int32 key lengths too long", "keyLengths", "expected shape [2]",
                        fwd(q, k, v, p().withKeyLengths(klI32Long))},
                new Object[] {"bias not broadcastable", "bias", "not broadcastable to [2, 4, 5, 7]", fwd(q, k, v, p().withBias(biasBad))},
                new Object[] {"bias of rank 5", "bias", "at most 4 dimensions", fwd(q, k, v, p().withBias(bias5))},
                new Object[] {"f16 bias for f32 q", "bias", "expected dtype f32", fwd(q, k, v, p().withBias(biasF16))},
                new Object[] {"backward, gradOut shape", "gradOut", "expected the shape of 'q' [2, 4, 5, 32]", bwd(fwd, gradShort, p())},
                new Object[] {"backward, null gradOut", "gradOut", "null", bwd(fwd, null, p())},
                new Object[] {"backward, null forward", "forward", "null", bwd(null, grad, p())},
                new Object[] {"backward, f16 logsumexp", "forward.logsumexp", "expected dtype f32",
                        bwd(new AttentionResult(fwd.out(), lseF16), grad, p())},
                new Object[] {"backward, logsumexp shape", "forward.logsumexp", "expected shape [2, 4, 5]",
                        bwd(new AttentionResult(fwd.out(), lseLong), grad, p())},
                new Object[] {"backward, out dtype", "forward.out", "expected dtype f32", bwd(new AttentionResult(outF16, lse), grad, p())},
                new Object[] {"backward, bias not broadcastable", "bias", "not broadcastable", bwd(fwd, grad, p().withBias(biasBad))}));
        if (kEmu != null)
            rows.add(new Object[] {"k on another device", "k", "move one with to(device)", fwd(q, kEmu, kEmu, p())});
        return rows.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rejects(String name, String argument, String text, Executable call) {
        assertRejects(argument, text, call);
    }

    /** The bias broadcasts through size-1 and missing leading dims: [4, 1, 7] against [2, 4, 5, 7]. */
    @Test
    void broadcastableBiasShapesAreAccepted() {
        try (AttentionResult r = F.scaledDotProductAttention(q, k, v, p().withBias(bias))) {
            assertEquals(List.of(2L, 4L, 5L, 32L), java.util.Arrays.stream(r.out().shape()).boxed().toList());
        }
    }

    /** What only the C API can be handed: a causal value out of range, outputs of the wrong shape or dtype. */
    @Test
    void cApiChecks() {
        try (org.deepkern.bindings.dk_attention_params bad = new org.deepkern.bindings.dk_attention_params().scale(0).causal(7);
             org.deepkern.bindings.dk_attention_params ok = new org.deepkern.bindings.dk_attention_params().scale(0).causal(0);
             Tensor out = Tensor.zeros(new long[] {2, 4, 5, 32}, DType.F32, Device.CPU);
             Tensor outShort = Tensor.zeros(new long[] {2, 4, 4, 32}, DType.F32, Device.CPU)) {
            Object[][] calls = {
                    {(java.util.function.IntSupplier) () -> org.deepkern.bindings.global.deepkern.dk_attention_forward(context(q), bad, handle(q),
                            handle(k), handle(v), null, null, handle(out), handle(lse)),
                            "'params.causal'"},
                    {(java.util.function.IntSupplier) () -> org.deepkern.bindings.global.deepkern.dk_attention_forward(context(q), ok, handle(q),
                            handle(k), handle(v), null, null, handle(outShort), handle(lse)),
                            "argument 'out': expected shape [2, 4, 5, 32]"},
                    {(java.util.function.IntSupplier) () -> org.deepkern.bindings.global.deepkern.dk_attention_forward(context(q), ok, handle(q),
                            handle(k), handle(v), null, null, handle(out), handle(lseLong)),
                            "argument 'logsumexp': expected shape [2, 4, 5]"},
                    {(java.util.function.IntSupplier) () -> org.deepkern.bindings.global.deepkern.dk_attention_forward(context(q), ok, handle(q),
                            handle(k), handle(v), null, null, handle(out), handle(lseF16)),
                            "argument 'logsumexp': expected dtype f32"},
                    {(java.util.function.IntSupplier) () -> org.deepkern.bindings.global.deepkern.dk_attention_forward(context(q), ok, handle(q),
                            handle(k), handle(v), null, null, handle(q), handle(lse)),
                            "argument 'out': overlaps 'q'"},
                    {(java.util.function.IntSupplier) () -> org.deepkern.bindings.global.deepkern.dk_attention_forward(context(q), null, handle(q),
                            handle(k), handle(v), null, null, handle(out), handle(lse)),
                            "argument 'params'"},
                    {(java.util.function.IntSupplier) () -> org.deepkern.bindings.global.deepkern.dk_attention_backward(context(q), ok, handle(q),
                            handle(k), handle(v), null, null, handle(out), handle(lse),
                            handle(grad), handle(grad), handle(k), handle(v)),
                            "argument 'grad_q': overlaps 'grad_out'"}};
            for (Object[] c : calls) {
                int status = ((java.util.function.IntSupplier) c[0]).getAsInt();
                String message = org.deepkern.bindings.global.deepkern.dk_last_error().getString();
                assertEquals(Status.INVALID_ARGUMENT.code(), status, message);
                assertTrue(message.contains((String) c[1]), "says " + c[1] + ": " + message);
            }
        }
    }

    /** A failing call releases the outputs it made: the allocator holds no more than before. */
    @Test
    void failuresLeakNothing() {
        long before = Memory.settledInUse(Device.CPU);
        for (int i = 0; i < 5; i++) {
            assertThrows(DeepKernException.class, () -> F.scaledDotProductAttention(q, kH3, kH3, p()));
            assertThrows(DeepKernException.class, () -> F.scaledDotProductAttentionBackward(q, k, v, fwd, gradShort, p()));
        }
        assertEquals(before, DeepKern.memoryStats(Device.CPU).inUse());
    }
}
