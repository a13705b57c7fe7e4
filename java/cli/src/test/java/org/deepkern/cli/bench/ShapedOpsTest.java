package org.deepkern.cli.bench;

import org.deepkern.Generator;
import org.deepkern.Tensor;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Device;
import org.junit.jupiter.api.Test;

/**
 * The ops whose case shape is a parameter list (GEMM, convolution) or that read per-column
 * parameters (the norms): their FLOP and byte counts, and their sampled host references, which
 * must pass the real op and catch a wrong one.
 */
class ShapedOpsTest {
    private static Bench bench() {
        return new Bench(Device.CPU, new Sampler(0.001, 1e-4, 2, 3, 0.01), new DeviceClock(Device.CPU),
                new Roofline(1e10, 1e10), 1 << 20, null, true);
    }

    @Test
    void flopsAreTwoPerMultiplyAdd() {
        assertEquals(2.0 * 64 * 32 * 16, new MatmulOp(false).flops(new long[] {64, 32, 16}));
        assertEquals(2.0 * 64 * 32 * 16, new MatmulOp(true).flops(new long[] {64, 32, 16}));
        // ResNet-50's stem at batch 32: 112 x 112 outputs of 64 filters over 3 x 7 x 7 taps
        long[] stem = ConvOp.shape(32, 224, 3, 64, 7, 2, 3);
        assertEquals(2.0 * 32 * 64 * 112 * 112 * 3 * 49, new ConvOp(false, false).flops(stem));
        long[] dw = ConvOp.shape(2, 9, 8, 8, 3, 2, 1);  // 5 x 5 outputs, one channel per filter
        assertEquals(2.0 * 2 * 8 * 5 * 5 * 9, new ConvOp(false, true).flops(dw));
        assertEquals(10.0 * 8 * 16, new RowOp(RowOp.Kind.SOFTMAX).flops(new long[] {8, 16}));
        // FlashAttention's count: 4 B H L^2 D, half of it under the causal mask
        long[] attn = {2, 16, 512, 64};
        assertEquals(4.0 * 2 * 16 * 512 * 512 * 64, new AttentionOp(false).flops(attn));
        assertEquals(2.0 * 2 * 16 * 512 * 512 * 64, new AttentionOp(true).flops(attn));
        // forward + backward: 4 + 10 B H L^2 D (the backward's five products)
        assertEquals(14.0 * 2 * 16 * 512 * 512 * 64, new AttentionTrainOp(false).flops(attn));
        assertEquals(7.0 * 2 * 16 * 512 * 512 * 64, new AttentionTrainOp(true).flops(attn));
        // B L = 16K tokens of hidden H D = 2048 on a GPU, 2K tokens of hidden 512 elsewhere
        for (long[] s : Cases.attentionShapes(false, true)) assertEquals(16384 * 2048, s[0] * s[1] * s[2] * s[3]);
        for (long[] s : Cases.attentionShapes(false, false)) assertEquals(2048 * 512, s[0] * s[1] * s[2] * s[3]);
    }

    @Test
    void bytesCountTheOperandsNotTheShape() {
        DType f = DType.F32;
        assertEquals(4.0 * (64 * 16 + 16 * 32 + 64 * 32), new BenchCase(new MatmulOp(false), f, new long[] {64, 32, 16}).bytes());
        assertEquals(4.0 * (64 * 16 + 32 * 16 + 32 + 64 * 32), new BenchCase(new MatmulOp(true), f, new long[] {64, 32, 16}).bytes());
        long[] s = ConvOp.shape(2, 9, 4, 6, 3, 2, 1);  // x [2, 9, 9, 4], w [6, 3, 3, 4], bias [6], out [2, 5, 5, 6]
        assertEquals(4.0 * (2 * 81 * 4 + 6 * 9 * 4 + 6 + 2 * 25 * 6), new BenchCase(new ConvOp(true, false), f, s).bytes());
        assertEquals(4.0 * (8 * 16 * 2 + 16 * 2), new BenchCase(new RowOp(RowOp.Kind.LAYER_NORM), f, new long[] {8, 16}).bytes());
        assertEquals("2x9x9x4x6x3x3x2x1", new BenchCase(new ConvOp(false, false), f, s).shapeLabel());
    }

    /** Small awkward shapes (every output sampled), strided and padded convolutions among them. */
    @Test
    void realOpsPassTheirGate() {
        List<BenchCase> cases = List.of(
                new BenchCase(new MatmulOp(false), DType.F32, new long[] {17, 7, 130}),
                new BenchCase(new MatmulOp(true), DType.BF16, new long[] {17, 7, 130}),
                new BenchCase(new ConvOp(false, false), DType.F32, ConvOp.shape(2, 9, 5, 7, 3, 2, 1)),
                new BenchCase(new ConvOp(true, false), DType.F32, ConvOp.shape(1, 7, 3, 4, 7, 2, 3)),
                new BenchCase(new ConvOp(false, true), DType.F32, ConvOp.shape(2, 9, 5, 5, 3, 1, 1)),
                new BenchCase(new AttentionTrainOp(false), DType.BF16, new long[] {2, 3, 37, 32}),
                new BenchCase(new AttentionTrainOp(true), DType.F32, new long[] {1, 2, 70, 64}));
        for (BenchCase c : cases) {
            Result r = bench().run(c);
            assertTrue(r.passed(), c.id() + ": " + r.failure());
        }
        for (RowOp.Kind k : RowOp.Kind.values())
            for (DType t : List.of(DType.F32, DType.BF16)) {
                Result r = bench().run(new BenchCase(new RowOp(k), t, new long[] {5, 130}));
                assertTrue(r.passed(), k + " " + t + ": " + r.failure());
            }
    }

    /** Another op's output under each reference: a product without its epilogue, a conv without bias and ReLU, a softmax for a log_softmax. */
    @Test
    void wrongOpsFailTheirGate() {
        assertWrong(new MatmulOp(true), new MatmulOp(false), new long[] {17, 7, 130}, 1);
        assertWrong(new ConvOp(true, false), new ConvOp(false, false), ConvOp.shape(1, 7, 3, 4, 3, 1, 1), 2);
        assertWrong(new RowOp(RowOp.Kind.LOG_SOFTMAX), new RowOp(RowOp.Kind.SOFTMAX), new long[] {5, 130}, 1);
        assertWrong(new RowOp(RowOp.Kind.RMS_NORM), new RowOp(RowOp.Kind.LAYER_NORM), new long[] {5, 130}, 2);
        assertWrong(new AttentionTrainOp(true), new AttentionTrainOp(false), new long[] {1, 2, 40, 32}, 4);
    }

    /** {@code wrong}'s run judged by {@code right}'s reference (wrong reads the first {@code shared} inputs alike). */
    private static void assertWrong(BenchOp right, BenchOp wrong, long[] shape, int shared) {
        BenchOp impostor = new BenchOp() {
            @Override
            public String name() {
                return right.name();
            }

            @Override
            public List<long[]> inputShapes(long[] s) {
                return right.inputShapes(s);
            }

            @Override
            public List<long[]> outputShapes(long[] s) {
                return right.outputShapes(s);
            }

            @Override
            public double flops(long[] s) {
                return right.flops(s);
            }

            @Override
            public void run(long[] s, org.deepkern.Tensor[] in, org.deepkern.Tensor[] out) {
                List<long[]> theirs = wrong.inputShapes(s);
                org.deepkern.Tensor[] args = new org.deepkern.Tensor[theirs.size()];
                for (int i = 0; i < args.length; i++)
                    args[i] = i < shared ? in[i] : org.deepkern.Tensor.randn(theirs.get(i), in[0].dtype(), Device.CPU, new org.deepkern.Generator(7 + i));
                wrong.run(s, args, out);
            }

            @Override
            public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
                return right.verify(s, in, out, outputDtype);
            }
        };
        Result r = bench().run(new BenchCase(impostor, DType.F32, shape));
        assertFalse(r.passed(), right.name() + " passed with " + wrong.name() + "'s output");
        assertTrue(r.failure().startsWith("wrong result"), r.failure());
    }
}
