package org.deepkern.cli.bench;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.ops.Act;

/**
 * The registry: every op family with the dtypes and shapes it is measured at. An op issue adds
 * its entry here (and its peer call in TorchPeer and benchmarks/gpu/torch_peer.py).
 */
public final class Cases {
    private Cases() {}

    /**
     * The element-wise ops' shapes: 256K elements for --quick; 1M and 16M (64 MB of f32, past any
     * L2) for the full run.
     */
    static List<long[]> shapes(boolean quick) {
        return quick ? List.of(new long[] {256, 1024})
                : List.of(new long[] {1024, 1024}, new long[] {4096, 4096});
    }

    /**
     * The ops measured in f32 and bf16: relu, silu and exact GELU forward and backward, each with
     * and without the fused bias; tanh GELU forward; SwiGLU split and two-tensor, forward and
     * backward; a DDIM and a DDPM sampler step; randn; a bias added over the rows and a sum over
     * the last dim.
     */
    static List<BenchOp> ops() {
        List<BenchOp> ops = new ArrayList<>();
        for (Act.Kind k : List.of(Act.Kind.RELU, Act.Kind.SILU, Act.Kind.GELU))
            for (boolean backward : new boolean[] {false, true})
                for (boolean bias : new boolean[] {false, true}) ops.add(new ActivationOp(k, bias, backward));
        ops.add(new ActivationOp(Act.Kind.GELU_TANH, false, false));
        for (boolean split : new boolean[] {true, false})
            for (boolean backward : new boolean[] {false, true}) ops.add(new SwiGluOp(split, backward));
        ops.add(new DiffusionStepOp(false));
        ops.add(new DiffusionStepOp(true));
        ops.add(new RandnOp());
        for (ArithmeticOp.Kind k : ArithmeticOp.Kind.values()) ops.add(new ArithmeticOp(k));
        return ops;
    }

    /**
     * Every case: the element-wise ops at {@link #shapes}; softmax, log_softmax, layer_norm and
     * rms_norm at {@link #rowShapes}; matmul and linear + bias + GELU at M = N = K = 4096 (1024
     * quick), f32; the ResNet-50 convolutions at batch 32, plain and with bias + ReLU, and a
     * depthwise 3x3, f32 NHWC (--quick: batch 2, six of them, two fused); attention and causal
     * the detectors' resampling ops ({@link VisionOp}) at {@link #visionShape}, f32 and bf16;
     * batched NMS of 1K, 30K and 200K boxes (--quick: 1K) and YOLOv8's decode + postprocess of a
     * 640 x 640 image ({@link DetectOp}), f32; torchvision's FPN over ResNet-50's C2-C5 of a
     * 640 x 640 image (--quick: 256), f32 ({@link FpnOp}); one AdamW step over a GPT-style model's
     * parameters, fused and one launch per tensor ({@link AdamWOp}: 12 layers of hidden 768 on a
     * GPU, 85M parameters; 4 x 512 on a cpu; --quick 2 x 256), f32;
     * attention in bf16 at {@link #attentionShapes} (smaller off the GPU), forward, and forward
     * plus backward at every other sequence length.
     */
    public static List<BenchCase> all(boolean quick, boolean gpu) {
        List<BenchCase> out = new ArrayList<>();
        for (long[] s : shapes(quick)) {
            for (BenchOp op : ops()) for (DType t : List.of(DType.F32, DType.BF16)) out.add(new BenchCase(op, t, s));
            out.add(new BenchCase(new CastOp(DType.BF16), DType.F32, s));
            out.add(new BenchCase(new CastOp(DType.F32), DType.BF16, s));
        }
        for (long[] s : rowShapes(quick))
            for (RowOp.Kind k : RowOp.Kind.values())
                for (DType t : List.of(DType.F32, DType.BF16)) out.add(new BenchCase(new RowOp(k), t, s));
        long g = quick ? 1024 : 4096;
        for (boolean linear : new boolean[] {false, true})
            out.add(new BenchCase(new MatmulOp(linear), DType.F32, new long[] {g, g, g}));
        for (long[] s : resnet50Convs(quick ? 2 : 32, quick)) out.add(new BenchCase(new ConvOp(false, false), DType.F32, s));
        for (long[] s : resnet50Convs(quick ? 2 : 32, quick).subList(0, quick ? 2 : 23))
            out.add(new BenchCase(new ConvOp(true, false), DType.F32, s));
        out.add(new BenchCase(new ConvOp(false, true), DType.F32, ConvOp.shape(quick ? 2 : 32, 56, quick ? 64 : 128,
                quick ? 64 : 128, 3, 1, 1)));
        if (gpu) {  // f32 on the tensor cores, against torch with allow_tf32 (cuDNN's default for convolutions)
            out.add(new BenchCase(new Tf32Op(new MatmulOp(false)), DType.F32, new long[] {g, g, g}));
            for (long[] s : resnet50Convs(quick ? 2 : 32, quick))
                out.add(new BenchCase(new Tf32Op(new ConvOp(false, false)), DType.F32, s));
        }
        for (VisionOp.Kind k : VisionOp.Kind.values())
            for (DType t : List.of(DType.F32, DType.BF16)) out.add(new BenchCase(new VisionOp(k), t, visionShape(k, quick)));
        for (long n : quick ? new long[] {1000} : new long[] {1000, 30000, 200000})
            out.add(new BenchCase(new DetectOp(DetectOp.Kind.BATCHED_NMS), DType.F32, new long[] {n}));
        out.add(new BenchCase(new DetectOp(DetectOp.Kind.YOLOV8), DType.F32, new long[] {1, 640, 640}));
        out.add(new BenchCase(new FpnOp(), DType.F32, new long[] {1, quick ? 256 : 640}));
        long[] model = quick ? new long[] {2, 256} : gpu ? new long[] {12, 768} : new long[] {4, 512};
        for (boolean perParameter : new boolean[] {false, true})
            out.add(new BenchCase(new AdamWOp(perParameter), DType.F32, model));
        for (long[] s : attentionShapes(quick, gpu))
            for (boolean causal : new boolean[] {false, true}) out.add(new BenchCase(new AttentionOp(causal), DType.BF16, s));
        for (long[] s : attentionShapes(quick, gpu))  // every other length (512, 2K, 8K), for the bench's time budget
            if (Long.numberOfTrailingZeros(s[2] / 512) % 2 == 0)
                for (boolean causal : new boolean[] {false, true}) out.add(new BenchCase(new AttentionTrainOp(causal), DType.BF16, s));
        return out;
    }

    /**
     * FlashAttention's benchmark shapes, [B, H, L, D]: on a GPU hidden 2048 (H = 2048 / D) for D =
     * 64 and 128, B * L = 16K tokens at sequence lengths 512 to 16K; elsewhere the same form cut to
     * what a cpu measures in minutes (hidden 512, 2K tokens, L 512 and 1024: 2-4 GFLOP a call, where
     * the GPU shapes are 70-1100); --quick one small head group.
     */
    static List<long[]> attentionShapes(boolean quick, boolean gpu) {
        if (quick) return List.of(new long[] {1, 4, 256, 64});
        long hidden = gpu ? 2048 : 512, tokens = gpu ? 16384 : 2048, longest = gpu ? 16384 : 1024;
        List<long[]> out = new ArrayList<>();
        for (long d : new long[] {64, 128})
            for (long l = 512; l <= longest; l *= 2) out.add(new long[] {tokens / l, hidden / d, l, d});
        return out;
    }

    /**
     * The detector sizes of {@link VisionOp}, NCHW: the max pool after ResNet-50's stem at 224 px
     * (batch 32), SPPF on YOLOv5's 20 x 20 P5 at 640 px (256 channels after its 1x1, batch 8), the
     * FPN's 2x upsample of a 40 x 40 map of 256 channels (batch 8); --quick batch 1 (stem: 2).
     */
    static long[] visionShape(VisionOp.Kind k, boolean quick) {
        return switch (k) {
            case MAX_POOL -> new long[] {quick ? 2 : 32, 64, 112, 112};
            case SPPF -> new long[] {quick ? 1 : 8, 256, 20, 20};
            case UPSAMPLE_NEAREST, UPSAMPLE_BILINEAR -> new long[] {quick ? 1 : 8, 256, 40, 40};
        };
    }

    /** rows x hidden of softmax, log_softmax, layer_norm and rms_norm: a transformer's activations. */
    static List<long[]> rowShapes(boolean quick) {
        return quick ? List.of(new long[] {1024, 2048}) : List.of(new long[] {1024, 2048}, new long[] {16384, 2048});
    }

    /**
     * The distinct convolutions of ResNet-50 (torchvision, stride on the 3x3) at batch n, as
     * {@link ConvOp} shapes: the 7x7 stem, then per stage the bottleneck's 1x1 reduce, 3x3 (strided
     * in the first block), 1x1 expand, the strided 1x1 projection, and the later blocks' 1x1
     * reduce and 3x3. quick: six of them (the same layer types, every stage's spatial size).
     */
    static List<long[]> resnet50Convs(long n, boolean quick) {
        List<long[]> all = new ArrayList<>(List.of(ConvOp.shape(n, 224, 3, 64, 7, 2, 3),
                ConvOp.shape(n, 56, 64, 64, 1, 1, 0), ConvOp.shape(n, 56, 64, 64, 3, 1, 1),
                ConvOp.shape(n, 56, 64, 256, 1, 1, 0), ConvOp.shape(n, 56, 256, 64, 1, 1, 0)));
        long hw = 56;
        for (long width = 128; width <= 512; width *= 2, hw /= 2) {
            long in = width * 2, out = width * 4;  // the previous stage's output channels, this stage's
            all.addAll(List.of(ConvOp.shape(n, hw, in, width, 1, 1, 0), ConvOp.shape(n, hw, width, width, 3, 2, 1),
                    ConvOp.shape(n, hw / 2, width, out, 1, 1, 0), ConvOp.shape(n, hw, in, out, 1, 2, 0),
                    ConvOp.shape(n, hw / 2, out, width, 1, 1, 0), ConvOp.shape(n, hw / 2, width, width, 3, 1, 1)));
        }
        if (!quick) return all;
        return List.of(all.get(2), all.get(4), all.get(0), all.get(6), all.get(15), all.get(22));
    }

    /** The cases whose op name is in {@code names} (all when names is empty). */
    public static List<BenchCase> select(List<BenchCase> cases, List<String> names) {
        if (names.isEmpty()) return cases;
        List<BenchCase> out = cases.stream().filter(c -> names.contains(c.op().name())).toList();
        if (out.isEmpty()) throw new IllegalArgumentException("--ops " + names + " matches no op; ops: "
                + cases.stream().map(c -> c.op().name()).distinct().toList());
        return out;
    }
}
