package org.deepkern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.ops.Act;
import org.deepkern.ops.AttentionGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.F;
import org.deepkern.ops.Reduction;
import org.deepkern.optim.ClipGrad;
import org.deepkern.testing.Forked;
import org.junit.jupiter.api.Test;

/**
 * The cpu and emu backends give the same bits on any number of threads: every op family with a
 * reduction (sums and means, softmax, the norms and their weight / bias gradients, an activation's
 * bias gradient, the losses, clip-grad-norm, matmul, conv2d and its gradients, attention and its
 * gradients) runs in JVMs of their own with DEEPKERN_NUM_THREADS (read once, when the pool starts)
 * 1, 2, 3 and 5, and each output's bits are hashed and compared. Shapes are large enough that the
 * work splits into several chunks on every one of those counts (on emu: several blocks, whose
 * grids follow its constant multiprocessor count, not the workers). Deterministic mode is on, as
 * the attention backward's dQ otherwise sums key tiles atomically, in the order blocks finish.
 */
class ThreadCountTest {
    private static final int[] THREADS = {1, 2, 3, 5};

    /** Prints "name hash" for every output, computed on the device args[0] names with a fixed seed. */
    public static final class Child {
        public static void main(String[] args) {
            Device dev = Device.parse(args[0]);
            // the attention backward's dQ adds key tiles atomically (emu as on a GPU) unless asked not to
            DeepKern.setDeterministic(dev, true);
            Map<String, Long> out = outputs(dev);
            out.forEach((k, v) -> System.out.println("out " + k + " " + Long.toHexString(v)));
            System.out.println("threads " + DeepKern.deviceInfo(Device.CPU).multiprocessors());
        }
    }

    static Map<String, Long> outputs(Device dev) {
        Map<String, Long> out = new LinkedHashMap<>();
        Generator gen = new Generator(19);
        for (DType t : List.of(DType.F32, DType.BF16)) {
            String s = "." + t.name().toLowerCase();
            Tensor x = randn(dev, new long[] {512, 384}, t, gen);
            Tensor g = randn(dev, new long[] {512, 384}, t, gen);
            Tensor w = randn(dev, new long[] {384}, t, gen), b = randn(dev, new long[] {384}, t, gen);
            put(out, "sum" + s, x.sum());
            put(out, "mean" + s, x.mean());
            put(out, "sum0" + s, x.sum(0));
            put(out, "softmax" + s, F.softmax(x));
            put(out, "log_softmax" + s, F.logSoftmax(x));
            put(out, "softmax_backward" + s, F.softmaxBackward(F.softmax(x), g));
            put(out, "log_softmax_backward" + s, F.logSoftmaxBackward(F.logSoftmax(x), g));
            put(out, "layer_norm" + s, F.layerNorm(x, w, b, 1e-5));
            put(out, "rms_norm" + s, F.rmsNorm(x, w, 1e-5));
            var ln = F.layerNormBackward(x, w, g, 1e-5, true);
            put(out, "layer_norm_backward" + s, ln.input(), ln.weight(), ln.bias());
            var rn = F.rmsNormBackward(x, w, g, 1e-5);
            put(out, "rms_norm_backward" + s, rn.input(), rn.weight());
            for (Act act : List.of(Act.relu(), Act.silu(), Act.gelu())) {
                var ag = F.activationBackward(act, x, b, g);
                put(out, "activation_backward_bias." + act + s, ag.input(), ag.bias());
            }
            put(out, "mse" + s, F.mseLoss(x, g, Reduction.MEAN));
            put(out, "bce" + s, F.binaryCrossEntropyWithLogits(x, F.sigmoid(g), Reduction.SUM, null));
            Tensor logits = randn(dev, new long[] {4096, 10}, t, gen);
            long[] classes = new long[4096];
            for (int i = 0; i < classes.length; i++) classes[i] = (i * 7L) % 10;
            Tensor target = Tensor.of(classes, new long[] {4096}, dev);
            put(out, "cross_entropy" + s, F.crossEntropy(logits, target));
            List<Tensor> params = List.of(randn(dev, new long[] {70000}, t, gen), randn(dev, new long[] {3000}, t, gen));
            double norm = ClipGrad.clipGradNorm(params, 1.0);
            out.put("clip_grad_norm" + s, Double.doubleToRawLongBits(norm));
            put(out, "clip_grad_norm.params" + s, params.get(0), params.get(1));
            Tensor q = randn(dev, new long[] {2, 4, 150, 32}, t, gen), k = randn(dev, new long[] {2, 4, 150, 32}, t, gen);
            Tensor v = randn(dev, new long[] {2, 4, 150, 32}, t, gen), dy = randn(dev, new long[] {2, 4, 150, 32}, t, gen);
            for (CausalMask c : List.of(CausalMask.NONE, CausalMask.TOP_LEFT)) {
                AttentionParams p = AttentionParams.defaults().withCausal(c);
                AttentionResult r = F.scaledDotProductAttention(q, k, v, p);
                AttentionGrads ag = F.scaledDotProductAttentionBackward(q, k, v, r, dy, p);
                put(out, "attention." + c + s, r.out(), ag.gradQ(), ag.gradK(), ag.gradV());
            }
        }
        Tensor a = randn(dev, new long[] {300, 200}, DType.F32, gen), bm = randn(dev, new long[] {200, 260}, DType.F32, gen);
        put(out, "matmul", F.matmul(a, bm));
        Tensor img = randn(dev, new long[] {4, 16, 20, 20}, DType.F32, gen);
        for (long kernel : new long[] {1, 3}) {
            Tensor cw = randn(dev, new long[] {32, 16, kernel, kernel}, DType.F32, gen), cb = randn(dev, new long[] {32}, DType.F32, gen);
            Tensor y = F.conv2d(img, cw, cb);
            Tensor dy = randn(dev, y.shape(), DType.F32, gen);
            var wg = F.conv2dBackwardWeight(img, dy, cw.shape(), true);
            put(out, "conv2d." + kernel, y, F.conv2dBackwardData(dy, cw, img.shape()), wg.gradWeight(), wg.gradBias());
        }
        return out;
    }

    private static Tensor randn(Device dev, long[] shape, DType t, Generator gen) {
        return Tensor.randn(shape, t, dev, gen);
    }

    /** A 64-bit FNV-1a hash of the tensors' f32 bits (exact for bf16). */
    private static void put(Map<String, Long> out, String name, Tensor... ts) {
        long h = 0xcbf29ce484222325L;
        for (Tensor t : ts)
            for (float f : t.toFloatArray()) {
                h ^= Float.floatToRawIntBits(f);
                h *= 0x100000001b3L;
            }
        out.put(name, h);
    }

    @Test
    void cpuSameBitsOnAnyThreadCount() throws Exception {
        sameBitsOnAnyThreadCount(Device.CPU);
    }

    @Test
    void emuSameBitsOnAnyThreadCount() throws Exception {
        sameBitsOnAnyThreadCount(Device.EMU);
    }

    private static void sameBitsOnAnyThreadCount(Device dev) throws Exception {
        Map<String, String> first = null;
        for (int threads : THREADS) {
            Map<String, String> got = new LinkedHashMap<>();
            List<String> other = new ArrayList<>();
            Forked.End end = Forked.run(Child.class, Map.of("DEEPKERN_NUM_THREADS", Integer.toString(threads)), 300,
                    line -> {
                        String[] f = line.split(" ");
                        if (f.length == 3 && f[0].equals("out")) got.put(f[1], f[2]);
                        else other.add(line);
                    }, dev.toString());
            assertFalse(end.hung(), dev + " hung at " + threads + " threads");
            assertEquals(0, end.exit(), threads + " threads: " + String.join("\n", other));
            assertEquals(List.of("threads " + threads), other, "the child's pool size");
            assertFalse(got.isEmpty(), "no outputs at " + threads + " threads");
            if (first == null) {
                first = got;
                continue;
            }
            for (var e : first.entrySet())
                assertEquals(e.getValue(), got.get(e.getKey()), dev + " " + e.getKey() + " at " + threads + " threads vs 1");
            assertEquals(first.keySet(), got.keySet());
        }
    }
}
