package org.deepkern.attention;

import org.deepkern.Generator;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.testing.Close;
import org.deepkern.ops.F;
import org.deepkern.testing.Reference;
import org.deepkern.testing.RowChecks;
import static org.deepkern.testing.NativeHandles.context;
import static org.deepkern.testing.NativeHandles.handle;
import static org.deepkern.attention.AttentionChecks.problem;
import static org.deepkern.attention.AttentionChecks.withBias;
import static org.deepkern.attention.AttentionChecks.withKeyLengths;
import static org.deepkern.attention.AttentionChecks.withScale;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.attention.AttentionReference.Problem;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Scaled dot-product attention, forward and backward, against the double reference
 * (AttentionReference) on cpu (L up to 200, every head dim) and emu (small shapes: the emulator
 * runs the CUDA kernels, the tensor-core forward for f16 / bf16), and the backward against
 * central differences of a scalar loss.
 */
class AttentionTest {
    private static final CausalMask NONE = CausalMask.NONE, TL = CausalMask.TOP_LEFT, BR = CausalMask.BOTTOM_RIGHT;

    /** Odd sizes, every head dim, GQA ratios 1 / 4 / 8, both causal alignments, padding, bias shapes. */
    static List<Problem> cpuProblems() {
        return List.of(
                problem(1, 1, 1, 1, 1, 32, NONE),
                problem(1, 1, 1, 1, 130, 64, BR),
                problem(2, 4, 1, 17, 17, 64, TL),
                problem(1, 8, 1, 17, 130, 128, BR),
                problem(1, 2, 2, 130, 17, 96, TL),
                withKeyLengths(problem(2, 2, 1, 130, 130, 256, NONE), 130, 61),
                withBias(withKeyLengths(problem(2, 4, 4, 17, 130, 32, BR), 100, 5), new long[] {1, 4, 1, 130}, 7, 0),
                withBias(problem(1, 2, 1, 130, 65, 64, TL), new long[] {130, 65}, 8, 5),
                withBias(problem(2, 8, 2, 17, 33, 32, NONE), new long[] {2, 1, 17, 33}, 9, 0),
                withScale(withBias(problem(1, 4, 2, 1, 17, 128, NONE), new long[] {17}, 10, 0), 0.3),
                // fully masked rows: bottom-right with Lq > Lk masks the first rows; a key length of 0 masks a sequence
                problem(1, 1, 1, 17, 8, 32, BR),
                withKeyLengths(problem(2, 2, 1, 17, 20, 64, TL), 0, 12),
                // the cpu's 64-row x 64-key tile pairs: edges of 1 and 8 rows / keys, several tiles of
                // each, GQA with causal Lq != Lk both ways, a key length on a tile boundary, bias with
                // -inf on a tile crossing the diagonal
                problem(1, 4, 2, 200, 129, 64, BR),
                problem(2, 2, 1, 65, 200, 96, TL),
                withKeyLengths(problem(2, 2, 2, 129, 136, 32, NONE), 136, 64),
                withBias(problem(1, 2, 1, 136, 136, 128, TL), new long[] {136, 136}, 13, 3));
    }

    /** The same features on shapes the emulator runs quickly. */
    static List<Problem> emuProblems() {
        return List.of(
                problem(1, 1, 1, 1, 1, 32, NONE),
                problem(1, 4, 1, 17, 9, 64, TL),
                problem(1, 8, 1, 5, 20, 32, BR),
                withKeyLengths(problem(2, 2, 2, 20, 20, 96, NONE), 20, 7),
                problem(1, 1, 1, 6, 7, 128, TL),
                problem(1, 1, 1, 3, 9, 256, NONE),
                withBias(withKeyLengths(problem(2, 2, 1, 17, 18, 32, BR), 18, 6), new long[] {2, 1, 1, 18}, 11, 4),
                withBias(problem(1, 2, 2, 70, 66, 32, TL), new long[] {70, 66}, 12, 0),
                problem(1, 1, 1, 17, 8, 32, BR),
                withKeyLengths(problem(2, 1, 1, 9, 12, 64, NONE), 0, 12),
                // long enough for the kernels' interior tiles (no key test: every row of the tile sees
                // every key of it), then the edge tiles: 64-key tiles whole, full query tiles
                problem(1, 2, 1, 80, 136, 64, NONE),
                problem(1, 1, 1, 144, 144, 64, TL),
                problem(1, 1, 1, 80, 130, 128, BR),
                // two 128-row query tiles (32 rows per warp on the tensor cores), 32-key tiles at D = 96
                problem(1, 1, 1, 136, 72, 96, TL),
                // D = 256: 32-key blocks, two warps per 16 keys adding their halves of the scores
                problem(1, 2, 1, 40, 70, 256, BR));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        long seed = 100;
        for (Problem p : cpuProblems())
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16})
                out.add(Arguments.of(Device.CPU, t, p, seed++));
        if (DeepKern.backend(Device.Type.EMU).available())
            for (Problem p : emuProblems())
                for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16})
                    out.add(Arguments.of(Device.EMU, t, p, seed++));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void forwardAndBackwardMatchTheReference(Device device, DType dtype, Problem p, long seed) {
        // alternate the optional tensors' dtypes: bias f32 or q's, key lengths int64 or int32
        AttentionChecks.check(device, dtype, p, seed, seed % 2 == 0, seed % 3 != 0, true);
    }

    static Stream<Arguments> devices() {
        return RowChecks.devices();
    }

    /** A row with no allowed key: out 0, logsumexp -inf, and no gradient flows from or to it. */
    @ParameterizedTest
    @MethodSource("devices")
    void fullyMaskedRowsGiveZeros(Device device) {
        // bottom-right, Lq = 6 > Lk = 3: rows 0..2 see no key; batch 1's key length 0 masks all of it
        Problem p = withKeyLengths(problem(2, 1, 1, 6, 3, 32, BR), 3, 0);
        try (Scope s = Scope.open()) {
            AttentionChecks.Inputs in = AttentionChecks.inputs(device, DType.F32, p, 5, true, true);
            AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
            float[] out = r.out().toFloatArray(), lse = r.logsumexp().toFloatArray();
            for (int row = 0; row < 12; row++) {
                boolean masked = row < 3 || row >= 6;
                assertEquals(masked, lse[row] == Float.NEGATIVE_INFINITY, "row " + row + " logsumexp " + lse[row]);
                for (int x = 0; x < 32 && masked; x++) assertEquals(0f, out[row * 32 + x], "row " + row);
            }
            AttentionGrads g = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), r, in.gradOut(), in.params());
            float[] gq = g.gradQ().toFloatArray(), gk = g.gradK().toFloatArray(), gv = g.gradV().toFloatArray();
            for (int row = 0; row < 12; row++)
                for (int x = 0; x < 32; x++) if (row < 3 || row >= 6) assertEquals(0f, gq[row * 32 + x], "gradQ row " + row);
            for (int e = 3 * 32; e < 6 * 32; e++) {  // batch 1's keys
                assertEquals(0f, gk[e], "gradK of a padded key");
                assertEquals(0f, gv[e], "gradV of a padded key");
            }
        }
    }

    /** No keys: every row is fully masked (out 0, logsumexp -inf, gradQ 0); no queries: dK = dV = 0. */
    @ParameterizedTest
    @MethodSource("devices")
    void emptySequences(Device device) {
        try (Scope s = Scope.open()) {
            Tensor q = Tensor.randn(new long[] {2, 4, 3, 64}, DType.BF16, device, new Generator(1)), noKeys = Tensor.zeros(new long[] {2, 2, 0, 64}, DType.BF16, device);
            AttentionResult r = F.scaledDotProductAttention(q, noKeys, noKeys, AttentionParams.defaults());
            for (float x : r.out().toFloatArray()) assertEquals(0f, x);
            for (float x : r.logsumexp().toFloatArray()) assertEquals(Float.NEGATIVE_INFINITY, x);
            AttentionGrads g = F.scaledDotProductAttentionBackward(q, noKeys, noKeys, r, q, AttentionParams.defaults());
            for (float x : g.gradQ().toFloatArray()) assertEquals(0f, x);
            assertEquals(0, g.gradK().toFloatArray().length);

            Tensor noQueries = Tensor.zeros(new long[] {2, 4, 0, 64}, DType.BF16, device), k = Tensor.randn(new long[] {2, 2, 5, 64}, DType.BF16, device, new Generator(2));
            AttentionResult e = F.scaledDotProductAttention(noQueries, k, k, AttentionParams.defaults());
            assertEquals(0, e.out().toFloatArray().length);
            AttentionGrads ge = F.scaledDotProductAttentionBackward(noQueries, k, k, e, noQueries, AttentionParams.defaults());
            for (float x : ge.gradK().toFloatArray()) assertEquals(0f, x);
            for (float x : ge.gradV().toFloatArray()) assertEquals(0f, x);
        }
    }

    /**
     * q, k, v starting 2 bytes into their buffers (a byte_offset only the C API can express): the
     * kernels' 16-byte cp.async copies give way to element copies, with the same results as aligned
     * inputs. bf16, so emu runs the tensor-core forward and backward.
     */
    @ParameterizedTest
    @MethodSource("devices")
    void unalignedInputsGiveTheSameResults(Device device) {
        Problem p = problem(1, 2, 1, 20, 70, 64, TL);
        try (Scope s = Scope.open()) {
            AttentionChecks.Inputs in = AttentionChecks.inputs(device, DType.BF16, p, 15, true, true);
            AttentionResult aligned = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
            AttentionGrads alignedGrads = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), aligned, in.gradOut(),
                    in.params());
            Tensor qb = padded(device, in.qs()), kb = padded(device, in.ks()), vb = padded(device, in.vs()),
                    gb = padded(device, in.gs());
            List<org.bytedeco.javacpp.Pointer> shapes = new ArrayList<>();  // reachable until the calls return
            org.deepkern.bindings.dk_tensor q = offsetBy2(qb, in.q().shape(), shapes), k = offsetBy2(kb, in.k().shape(), shapes),
                    v = offsetBy2(vb, in.v().shape(), shapes), g = offsetBy2(gb, in.q().shape(), shapes);
            Tensor out = Tensor.empty(in.q().shape(), DType.BF16, device), lse = Tensor.empty(new long[] {1, 2, 20}, DType.F32, device);
            Tensor gq = Tensor.empty(in.q().shape(), DType.BF16, device), gk = Tensor.empty(in.k().shape(), DType.BF16, device),
                    gv = Tensor.empty(in.v().shape(), DType.BF16, device);
            try (org.deepkern.bindings.dk_attention_params np = new org.deepkern.bindings.dk_attention_params().scale(0)
                    .causal(TL.ordinal())) {
                org.deepkern.bindings.dk_context ctx = context(in.q());
                assertEquals(0, org.deepkern.bindings.global.deepkern.dk_attention_forward(ctx, np, q, k, v, null, null,
                        handle(out), handle(lse)), () -> org.deepkern.bindings.global.deepkern.dk_last_error().getString());
                assertEquals(0, org.deepkern.bindings.global.deepkern.dk_attention_backward(ctx, np, q, k, v, null, null,
                        handle(out), handle(lse), g, handle(gq), handle(gk), handle(gv)),
                        () -> org.deepkern.bindings.global.deepkern.dk_last_error().getString());
            }
            java.lang.ref.Reference.reachabilityFence(shapes);
            assertArrayEquals(aligned.out().toFloatArray(), out.toFloatArray(), "out");
            assertArrayEquals(aligned.logsumexp().toFloatArray(), lse.toFloatArray(), "logsumexp");
            assertArrayEquals(alignedGrads.gradK().toFloatArray(), gk.toFloatArray(), "gradK");
            assertArrayEquals(alignedGrads.gradV().toFloatArray(), gv.toFloatArray(), "gradV");
            assertArrayEquals(alignedGrads.gradQ().toFloatArray(), gq.toFloatArray(), 1e-2f, "gradQ (atomics add in any order)");
        }
    }

    /** A bf16 buffer holding one leading element and then values. */
    private static Tensor padded(Device device, float[] values) {
        float[] b = new float[values.length + 1];
        System.arraycopy(values, 0, b, 1, values.length);
        return AttentionChecks.rounded(device, DType.BF16, b, b.length);
    }

    /** A handle on buffer's storage from its second element on, with the given shape. */
    private static org.deepkern.bindings.dk_tensor offsetBy2(Tensor buffer, long[] shape,
                                                             List<org.bytedeco.javacpp.Pointer> keep) {
        org.deepkern.bindings.dk_tensor base = handle(buffer);
        org.deepkern.bindings.dk_tensor t = new org.deepkern.bindings.dk_tensor();
        t.data(base.data());
        t.device().device_type(base.device().device_type()).device_id(base.device().device_id());
        t.ndim(shape.length);
        t.dtype().code(base.dtype().code()).bits(base.dtype().bits()).lanes((short) 1);
        org.bytedeco.javacpp.LongPointer s = new org.bytedeco.javacpp.LongPointer(shape);
        keep.add(s);
        keep.add(t);
        t.shape(s);
        t.strides(null);
        t.byte_offset(base.byte_offset() + 2);
        return t;
    }

    /** The convenience forms: default scale 1/sqrt(D), and isCausal as TOP_LEFT. */
    @ParameterizedTest
    @MethodSource("devices")
    void shortFormsAreTheDefaults(Device device) {
        Problem p = problem(1, 2, 1, 9, 9, 32, NONE);
        try (Scope s = Scope.open()) {
            AttentionChecks.Inputs in = AttentionChecks.inputs(device, DType.F32, p, 6, true, true);
            float[] plain = F.scaledDotProductAttention(in.q(), in.k(), in.v()).toFloatArray();
            float[] explicit = F.scaledDotProductAttention(in.q(), in.k(), in.v(),
                    AttentionParams.defaults().withScale(1 / Math.sqrt(32))).out().toFloatArray();
            assertArrayEquals(explicit, plain);
            float[] causal = F.scaledDotProductAttention(in.q(), in.k(), in.v(), true).toFloatArray();
            float[] topLeft = F.scaledDotProductAttention(in.q(), in.k(), in.v(),
                    AttentionParams.defaults().withCausal(TL)).out().toFloatArray();
            assertArrayEquals(topLeft, causal);
            // Lq = Lk: both alignments are the same mask
            float[] bottomRight = F.scaledDotProductAttention(in.q(), in.k(), in.v(),
                    AttentionParams.defaults().withCausal(BR)).out().toFloatArray();
            assertArrayEquals(topLeft, bottomRight);
        }
    }

    /**
     * The backward is the derivative of the forward: central differences of sum(out * r) in each
     * element of q, k and v (f32; every element on cpu, every fifth on emu).
     */
    @ParameterizedTest
    @MethodSource("devices")
    void gradientsMatchCentralDifferences(Device device) {
        Problem p = withBias(withKeyLengths(problem(2, 2, 1, 5, 7, 32, BR), 7, 5), new long[] {1, 2, 5, 7}, 13, 0);
        int stride = device.type() == Device.Type.EMU ? 5 : 1;
        try (Scope s = Scope.open()) {
            AttentionChecks.Inputs in = AttentionChecks.inputs(device, DType.F32, p, 14, true, false);
            AttentionResult r = F.scaledDotProductAttention(in.q(), in.k(), in.v(), in.params());
            AttentionGrads g = F.scaledDotProductAttentionBackward(in.q(), in.k(), in.v(), r, in.gradOut(), in.params());
            float[][] x = {in.qs().clone(), in.ks().clone(), in.vs().clone()};
            long[][] shapes = {in.q().shape(), in.k().shape(), in.v().shape()};
            float[][] grads = {g.gradQ().toFloatArray(), g.gradK().toFloatArray(), g.gradV().toFloatArray()};
            String[] names = {"q", "k", "v"};
            double h = 1e-2;
            for (int which = 0; which < 3; which++) {
                List<Double> fd = new ArrayList<>();
                List<Float> got = new ArrayList<>();
                for (int e = which; e < x[which].length; e += stride) {
                    float keep = x[which][e];
                    x[which][e] = keep + (float) h;
                    double up = loss(device, x, shapes, in);
                    x[which][e] = keep - (float) h;
                    double down = loss(device, x, shapes, in);
                    x[which][e] = keep;
                    fd.add((up - down) / (2 * h));
                    got.add(grads[which][e]);
                }
                double[] ref = fd.stream().mapToDouble(Double::doubleValue).toArray();
                float[] gv = new float[got.size()];
                for (int i = 0; i < gv.length; i++) gv[i] = got.get(i);
                org.deepkern.testing.Close.assertClose(ref, gv, 5e-3, 5e-3, "grad " + names[which] + " vs central differences on " + device);
            }
        }
    }

    private static double loss(Device device, float[][] x, long[][] shapes, AttentionChecks.Inputs in) {
        try (Tensor q = Tensor.of(x[0], shapes[0], device); Tensor k = Tensor.of(x[1], shapes[1], device);
             Tensor v = Tensor.of(x[2], shapes[2], device); AttentionResult r = F.scaledDotProductAttention(q, k, v, in.params())) {
            float[] o = r.out().toFloatArray();
            double s = 0;
            for (int i = 0; i < o.length; i++) s += (double) o[i] * in.gs()[i];
            return s;
        }
    }
}
